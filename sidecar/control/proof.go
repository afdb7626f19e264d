package control

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// The operator's exemptions (setting via, cancelling anyone's request, no
// DROP TABLE for deletes and forced fulls) belong to the rows the sidecar
// inserted itself: its schedule and its HTTP write tokens. requested_by
// alone cannot prove that: a materialized view fired by the sidecar's own
// INSERT into request_log writes rows whose authenticated user is the
// sidecar's login. So the sidecar signs its rows with a key derived from
// its ClickHouse password, which no ClickHouse user reads, and grants the
// exemptions only to a row whose proof checks out.

// ProofKey derives the signing key from the sidecar's ClickHouse password;
// every sidecar of a deployment logs in with the same one. An empty
// password gives no key: serve refuses to run without one.
func ProofKey(password string) []byte {
	if password == "" {
		return nil
	}
	mac := hmac.New(sha256.New, []byte("clickvault request proof v1"))
	mac.Write([]byte(password))
	return mac.Sum(nil)
}

// Sign is the proof of a request the sidecar inserts as requestedBy: an
// HMAC of every field that decides what it does, so a proof copied onto
// another row (or another id) does not check out.
func Sign(key []byte, r Request, requestedBy string) string {
	if len(key) == 0 {
		return ""
	}
	var asOf string
	if r.AsOf != nil {
		asOf = r.AsOf.UTC().Format(time.RFC3339Nano)
	}
	signed := []any{r.ID, requestedBy, r.Action, r.Database, r.Kind, r.Backup, asOf, r.Target,
		r.DryRun, r.Via, list(r.Tables), list(r.ExcludeTables), list(r.Partitions), r.Mode}
	// consumers came later: signed when set, so a row signed before it
	// existed still checks out, and a proof of a row without it does not
	// check out on a copy that sets it (the signed lists differ).
	if r.Consumers != "" {
		signed = append(signed, r.Consumers)
	}
	// shard and source came later still: signed when set, each named
	// (consumers is not, but no consumers ParseConsumers accepts looks like
	// "shard=…" or "source=…"), so that no value stands for another's.
	if r.Shard != 0 {
		signed = append(signed, fmt.Sprintf("shard=%d", r.Shard))
	}
	if r.Source != "" {
		signed = append(signed, "source="+r.Source)
	}
	fields, _ := json.Marshal(signed)
	mac := hmac.New(sha256.New, key)
	mac.Write(fields)
	return hex.EncodeToString(mac.Sum(nil))
}

// operator reports whether r is the sidecar's own row: inserted by its
// login, with a proof that checks out. (Without a key Sign is "", which
// no proof that is not empty equals.)
func (s *base) operator(r Request) bool {
	if r.RequestedBy != s.opts.OwnUser || r.Proof == "" {
		return false
	}
	return hmac.Equal([]byte(r.Proof), []byte(Sign(s.opts.ProofKey, r.withoutRead(), r.RequestedBy)))
}

// withoutRead is r with only the fields an inserter writes: the time the
// sidecar read is not part of what was signed.
func (r Request) withoutRead() Request {
	r.RequestedAt, r.QueryID, r.Proof = time.Time{}, "", ""
	if r.Kind == "" {
		r.Kind = "auto"
	}
	return r
}

// list is l with nil as empty: a list read back from the table is empty
// where the inserter's was nil.
func list(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
