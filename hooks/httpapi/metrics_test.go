package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// blockingGatherer gathers nothing until released, counting the gathers
// under way: a scrape of a thousand databases' series takes a while.
type blockingGatherer struct {
	started chan struct{}
	release chan struct{}
}

func (g *blockingGatherer) Gather() ([]*dto.MetricFamily, error) {
	g.started <- struct{}{}
	<-g.release
	return nil, nil
}

// TestScrapesAtOnceAreBounded (issue 27): /metrics needs no token, and one
// scrape of a thousand databases allocates some 28 MB; the scrapes beyond
// metricsScrapesAtOnce are answered 503 at once, not gathered beside them.
func TestScrapesAtOnceAreBounded(t *testing.T) {
	g := &blockingGatherer{started: make(chan struct{}, 8), release: make(chan struct{})}
	s := New(&queueSpy{}, Options{Databases: []string{"shop"}}, func(context.Context) error { return nil }, g, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(s.echo)
	t.Cleanup(srv.Close)
	var wg sync.WaitGroup
	codes := make(chan int, metricsScrapesAtOnce)
	for range metricsScrapesAtOnce {
		wg.Go(func() { codes <- scrape(t, srv.URL) })
		<-g.started
	}
	if code := scrape(t, srv.URL); code != http.StatusServiceUnavailable {
		t.Errorf("a scrape beside %d under way answered %d, want 503", metricsScrapesAtOnce, code)
	}
	close(g.release)
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusOK {
			t.Errorf("a scrape within the bound answered %d, want 200", code)
		}
	}
	if code := scrape(t, srv.URL); code != http.StatusOK {
		t.Errorf("a scrape after the others ended answered %d, want 200", code)
	}
}

// scrape answers the status of one GET /metrics; a scrape gathered beside
// the blocked ones would block too, until the client gives up.
func scrape(t *testing.T, base string) int {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(base + "/metrics")
	if err != nil {
		t.Errorf("scrape: %v", err)
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

var _ prometheus.Gatherer = (*blockingGatherer)(nil)

// bigGatherer gathers, for its first big calls, one family of some 20 MB
// (a thousand databases' series are some megabytes), then nothing.
type bigGatherer struct {
	calls atomic.Int64
	big   int64
	once  sync.Once
	f     *dto.MetricFamily
}

func (g *bigGatherer) Gather() ([]*dto.MetricFamily, error) {
	if g.calls.Add(1) > g.big {
		return nil, nil
	}
	g.once.Do(func() {
		name, help, typ := "clickvault_test_big", "a big answer", dto.MetricType_GAUGE
		label, value, v := "database", strings.Repeat("tenant_", 30), 1.0
		pair := []*dto.LabelPair{{Name: &label, Value: &value}}
		g.f = &dto.MetricFamily{Name: &name, Help: &help, Type: &typ}
		for range 100_000 {
			g.f.Metric = append(g.f.Metric, &dto.Metric{Label: pair, Gauge: &dto.Gauge{Value: &v}})
		}
	})
	return []*dto.MetricFamily{g.f}, nil
}

// TestAScrapeNotReadGivesItsPlaceBack (issue 27): clients that ask for
// /metrics and never read the answer hold their places only until the
// write's deadline; a scrape after it is answered (they held them until
// the server's write timeout, a minute, and opened again kept Prometheus
// out for good).
func TestAScrapeNotReadGivesItsPlaceBack(t *testing.T) {
	defer func(d time.Duration) { metricsWriteWithin = d }(metricsWriteWithin)
	metricsWriteWithin = time.Second
	big := &bigGatherer{big: metricsScrapesAtOnce}
	s := New(&queueSpy{}, Options{Databases: []string{"shop"}}, func(context.Context) error { return nil }, big, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(s.echo)
	t.Cleanup(srv.Close)
	for range metricsScrapesAtOnce {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		if _, err := fmt.Fprintf(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil { // and never read
			t.Fatal(err)
		}
	}
	for big.calls.Load() < metricsScrapesAtOnce { // both are gathering or writing
		time.Sleep(time.Millisecond)
	}
	deadline := time.Now().Add(10 * time.Second)
	for code := scrape(t, srv.URL); code != http.StatusOK; code = scrape(t, srv.URL) {
		if time.Now().After(deadline) {
			t.Fatalf("scrapes answered %d for 10 s behind two clients that do not read", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
