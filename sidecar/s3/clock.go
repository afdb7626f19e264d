package s3

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// clockWatch measures how far this host's clock is from the store's, from
// the Date header of its answers, so leases and heartbeats one sidecar
// writes and another judges can be read on one clock, the store's
// (coord.ClockedStore). One answer proves little: a Date counts whole
// seconds, a proxy's error page or a cached answer carries a Date of its
// own, and one node behind a load balancer may be off. So an offset is
// taken only when the last clockSamples answers agree on it within
// clockStep, and moved only when they agree on one more than clockStep
// away: a host's clock does not jitter with the Date's seconds, and one
// wrong answer moves nothing. Three answers, not more: a CLI run has its
// offset from the store's probe, before it takes any lease.
type clockWatch struct {
	local func() time.Time // this host's clock; tests move it

	mu      sync.Mutex
	samples []time.Duration // the last clockSamples measurements, oldest first
	offset  time.Duration   // the store's clock minus local, as taken
	known   bool
}

const (
	clockSamples = 3
	clockStep    = time.Second
	// maxTrustedRoundTrip: an answer that took longer says too little
	// about when its Date was stamped (half of it is the error).
	maxTrustedRoundTrip = time.Second
)

func (w *clockWatch) ID() string { return "ClickVaultClockWatch" }

// HandleDeserialize times the request and reads the answer's Date: only
// an answer S3 itself gave (it names its request id) and no cache served
// (no Age). The Date is read as the middle of its second, against the
// middle of the round trip.
func (w *clockWatch) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
	middleware.DeserializeOutput, middleware.Metadata, error,
) {
	sent := w.local()
	out, metadata, err := next.HandleDeserialize(ctx, in)
	answered := w.local()
	resp, ok := out.RawResponse.(*smithyhttp.Response)
	if !ok || answered.Sub(sent) > maxTrustedRoundTrip || resp.Header.Get("X-Amz-Request-Id") == "" || resp.Header.Get("Age") != "" {
		return out, metadata, err
	}
	if date, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
		w.observe(date.Add(500 * time.Millisecond).Sub(sent.Add(answered.Sub(sent) / 2)))
	}
	return out, metadata, err
}

// observe adds one measurement and takes the offset the last answers
// agree on, if they do and it is a step from the one taken.
func (w *clockWatch) observe(sample time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.samples = append(w.samples, sample)
	if len(w.samples) > clockSamples {
		w.samples = w.samples[1:]
	}
	if len(w.samples) < clockSamples {
		return
	}
	sorted := slices.Sorted(slices.Values(w.samples))
	median := sorted[len(sorted)/2]
	agree := 0
	for _, s := range sorted {
		if (s - median).Abs() <= clockStep {
			agree++
		}
	}
	if agree == clockSamples && (!w.known || (median-w.offset).Abs() > clockStep) {
		w.offset, w.known = median, true
	}
}

// ClockOffset is the store's clock minus this host's, as its answers
// agree on it (to about half a second); false until they have.
func (o *ObjectStore) ClockOffset() (time.Duration, bool) {
	o.clock.mu.Lock()
	defer o.clock.mu.Unlock()
	return o.clock.offset, o.clock.known
}
