package model

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// ObjectSummary sums up the objects a completed backup holds in its own
// folder: each distinct data object with bytes of its own, and the
// manifest. It is taken from the manifest when the backup completes (the
// engine reads it then anyway) and kept in the metadata, so that the check
// before an incremental confirms a link with one LIST of its folder: the
// listing must sum up to the same count, bytes and digest. Any difference
// (an object missing, short, or one more) sends that link to the exact
// check, which reads its manifest and names the object.
type ObjectSummary struct {
	Count  int    `json:"count"`
	Bytes  uint64 `json:"bytes"`
	Digest string `json:"digest"` // SHA-256 of each object's key in the folder and size, in key order
}

// ObjectSize is one object of a backup's folder: its key relative to the
// folder, and its size.
type ObjectSize struct {
	Key  string
	Size uint64
}

// Objects are the objects the manifest says the backup's folder holds:
// every data object with bytes of its own (a file kept whole in the base
// has none; deduplicated files share one), and the manifest itself, of
// manifestSize bytes.
func (m Manifest) Objects(manifestSize uint64) []ObjectSize {
	seen := map[string]bool{}
	out := []ObjectSize{{Key: coord.BackupFile, Size: manifestSize}}
	for _, f := range m.Files {
		if f.StoredSize() == 0 || seen[f.DataFile] {
			continue
		}
		seen[f.DataFile] = true
		out = append(out, ObjectSize{Key: f.DataFile, Size: f.StoredSize()})
	}
	return out
}

// SummarizeObjects sums objects up; the order they come in does not
// matter.
func SummarizeObjects(objects []ObjectSize) ObjectSummary {
	sorted := slices.Clone(objects)
	slices.SortFunc(sorted, func(a, b ObjectSize) int { return strings.Compare(a.Key, b.Key) })
	h := sha256.New()
	sum := ObjectSummary{Count: len(sorted)}
	for _, o := range sorted {
		sum.Bytes += o.Size
		h.Write([]byte(o.Key + "\x00" + strconv.FormatUint(o.Size, 10) + "\n"))
	}
	sum.Digest = hex.EncodeToString(h.Sum(nil))
	return sum
}
