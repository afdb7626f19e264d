package coord

// PurposeCopy is a copier's lease of a database's folder at a copy target
// (the target's LeaseKey, in its own bucket): one copier writes there at a
// time, and a cleanup of the target would wait for it.
const PurposeCopy = "copy"
