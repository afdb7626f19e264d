package s3

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// clockWatch measures how far this host's clock is from the store's, from
// the Date header of every answer (errors included), so leases and
// heartbeats one sidecar writes and another judges can be read on one
// clock, the store's (coord.ClockedStore).
type clockWatch struct {
	local  func() time.Time // this host's clock; tests move it
	offset atomic.Int64     // the store's clock minus local, in nanoseconds
	known  atomic.Bool
}

// maxTrustedRoundTrip: an answer that took longer says too little about
// when its Date was stamped.
const maxTrustedRoundTrip = 5 * time.Second

func (w *clockWatch) ID() string { return "ClickVaultClockWatch" }

// HandleDeserialize times the request and reads the answer's Date. The
// Date counts whole seconds, so it is read as the middle of its second,
// against the middle of the round trip.
func (w *clockWatch) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
	middleware.DeserializeOutput, middleware.Metadata, error,
) {
	sent := w.local()
	out, metadata, err := next.HandleDeserialize(ctx, in)
	answered := w.local()
	if resp, ok := out.RawResponse.(*smithyhttp.Response); ok && answered.Sub(sent) <= maxTrustedRoundTrip &&
		resp.Header.Get("Age") == "" { // a cached answer's Date is not now
		if date, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
			middle := sent.Add(answered.Sub(sent) / 2)
			w.offset.Store(int64(date.Add(500 * time.Millisecond).Sub(middle)))
			w.known.Store(true)
		}
	}
	return out, metadata, err
}

// ClockOffset is the store's clock minus this host's, as the last answer
// with a Date showed it (to about half a second); false before any.
func (o *ObjectStore) ClockOffset() (time.Duration, bool) {
	return time.Duration(o.clock.offset.Load()), o.clock.known.Load()
}
