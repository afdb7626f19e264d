package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"
)

// StatusPageSize is how many databases one status page shows: a sidecar
// of a thousand tenants' databases renders a page of them at a time, in
// the configuration's order, instead of a thousand catalogs at once.
const StatusPageSize = 50

// catalogReads bounds the catalog reads of one page that run at once: a
// page of 50 costs about 50/8 round trips, and one page view never holds
// more than 8 of ClickHouse's connections.
const catalogReads = 8

// pager says which databases a page shows and how to reach the others.
type pager struct {
	Page, Pages, First, Last, Total int
}

// pageOf reads ?page= (1 when absent) and the slice of databases it shows.
func pageOf(c echo.Context, databases []string) ([]string, pager, error) {
	p := pager{Page: 1, Total: len(databases), Pages: max(1, (len(databases)+StatusPageSize-1)/StatusPageSize)}
	if raw := c.QueryParam("page"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > p.Pages {
			return nil, p, echo.NewHTTPError(http.StatusBadRequest,
				fmt.Sprintf("page must be a number from 1 to %d", p.Pages))
		}
		p.Page = n
	}
	from := (p.Page - 1) * StatusPageSize
	to := min(len(databases), from+StatusPageSize)
	p.First, p.Last = from+1, to
	return databases[from:to], p, nil
}

// databaseViews reads the catalog of each database of the page, a few at
// once, and keeps the page's order.
func (s *Server) databaseViews(ctx context.Context, databases []string, now time.Time) ([]databaseView, error) {
	views := make([]databaseView, len(databases))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(catalogReads)
	for i, db := range databases {
		g.Go(func() error {
			rows, err := s.cp.CatalogRows(ctx, db)
			if err != nil {
				return err
			}
			v := s.databaseView(db, rows, now)
			s.addSets(ctx, &v)
			views[i] = v
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return views, nil
}

// renderPager writes where the page is among the databases, with links to
// its neighbours; nothing when every database fits on one page.
func renderPager(w *strings.Builder, p pager) {
	if p.Pages <= 1 {
		return
	}
	fmt.Fprintf(w, "<nav class=\"pager\" data-page=\"%d\" data-pages=\"%d\">databases %d–%d of %d", p.Page, p.Pages, p.First, p.Last, p.Total)
	if p.Page > 1 {
		fmt.Fprintf(w, " · <a rel=\"prev\" href=\"?page=%d\">previous</a>", p.Page-1)
	}
	if p.Page < p.Pages {
		fmt.Fprintf(w, " · <a rel=\"next\" href=\"?page=%d\">next</a>", p.Page+1)
	}
	w.WriteString("</nav>\n")
}
