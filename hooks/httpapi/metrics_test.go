package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
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
