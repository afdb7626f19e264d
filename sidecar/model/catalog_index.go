package model

import (
	"time"
)

// FullScanEvery bounds how long backups may plan from the catalog index
// without every metadata object being read again. A full scan rewrites the
// index from the metadata, so an entry wrong for any reason (a lease holder
// that wrote late, a hand edit) lives at most this long.
const FullScanEvery = 24 * time.Hour
