package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/control"
	"github.com/clickvault/clickvault/sidecar/model"
)

type backupBody struct {
	Database      string   `json:"database"`
	Kind          string   `json:"kind"`
	Tables        []string `json:"tables"`
	ExcludeTables []string `json:"exclude_tables"`
}

type restoreBody struct {
	Database   string     `json:"database"`
	Backup     string     `json:"backup"`
	AsOf       *time.Time `json:"as_of"`
	Target     string     `json:"target"`
	Tables     []string   `json:"tables"`
	Partitions []string   `json:"partitions"`
	Mode       string     `json:"mode"`
	// Consumers: what to do with tables that consume or write outside the
	// target ("", "skip", "include"); DryRun: answer with the plan only.
	Consumers string `json:"consumers"`
	DryRun    bool   `json:"dry_run"`
	// Source: the [[copy]] target to read the backup from ("" = the
	// primary, or a copy holding it when the primary cannot serve it).
	Source string `json:"source"`
	// Shard: on a cluster node, the one shard of the set to restore (0 =
	// every shard); the requests table keeps it as a UInt16.
	Shard int `json:"shard"`
}

// maxShard is the largest shard a request can name: requests.shard is a
// UInt16 (system.clusters' shard_num is a UInt32, but no cluster has
// 65,536 shards).
const maxShard = 65535

type checkBody struct {
	Database string `json:"database"`
	Backup   string `json:"backup"`
}

type cleanupBody struct {
	Database string `json:"database"`
	DryRun   bool   `json:"dry_run"`
}

// maxBody bounds a request body: every body here is a few short fields.
const maxBody = 64 << 10

// decode reads a JSON body strictly: exactly one JSON object, no unknown
// field, at most maxBody bytes (413 beyond). Errors quote at most a short
// prefix of what was sent.
func decode(c echo.Context, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.Decode(&json.RawMessage{}) != io.EOF {
			return echo.NewHTTPError(http.StatusBadRequest, "the body must hold exactly one JSON object")
		}
		return nil
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", maxBody))
	}
	return echo.NewHTTPError(http.StatusBadRequest, "read the JSON body: "+shorten(err.Error()))
}

// shorten cuts what a client sent (or an error quoting it) to a short
// prefix, so an answer never echoes a huge input back.
func shorten(s string) string {
	const limit = 80
	if len(s) <= limit {
		return s
	}
	return strings.ToValidUTF8(s[:limit], "") + "…"
}

// visible reports whether answers may show database: the sidecar's
// databases only ("" is its default).
func (s *Server) visible(database string) bool {
	return s.databases == nil || database == "" || slices.Contains(s.databases, database)
}

// queue inserts the request into the requests table, naming the token it
// came with; the sidecar admits and runs it like any SQL user's.
func (s *Server) queue(c echo.Context, r control.Request) error {
	if !s.visible(r.Database) {
		return echo.NewHTTPError(http.StatusForbidden, fmt.Sprintf("database %q is not one this sidecar backs up", shorten(r.Database)))
	}
	r.Via, _ = c.Get(tokenKey).(string)
	id, err := s.cp.InsertRequest(c.Request().Context(), r)
	if err != nil {
		return fmt.Errorf("queue the request: %w", err)
	}
	return c.JSON(http.StatusAccepted, map[string]string{"id": id, "status": "/v1/requests/" + id})
}

func (s *Server) postBackup(c echo.Context) error {
	var b backupBody
	if err := decode(c, &b); err != nil {
		return err
	}
	return s.queue(c, control.Request{Action: control.ActionBackup, Database: b.Database, Kind: b.Kind,
		Tables: b.Tables, ExcludeTables: b.ExcludeTables})
}

func (s *Server) postRestore(c echo.Context) error {
	var b restoreBody
	if err := decode(c, &b); err != nil {
		return err
	}
	// A wrong choice is answered at once, as the request's admission
	// would reject it; the request then goes through the same checks.
	if _, err := model.ParseConsumers(b.Consumers); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf(
			"consumers %q is not a choice: want \"\" (the default: refuse a restore that would recreate tables that consume "+
				"or write elsewhere, naming them), \"skip\" (leave them out) or \"include\" (restore them live)", shorten(b.Consumers)))
	}
	if b.Shard < 0 || b.Shard > maxShard {
		return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("shard must be 0 (every shard) to %d, a shard of the set", maxShard))
	}
	return s.queue(c, control.Request{Action: control.ActionRestore, Database: b.Database, Backup: b.Backup, AsOf: b.AsOf,
		Target: b.Target, Tables: b.Tables, Partitions: b.Partitions, Mode: b.Mode, Consumers: b.Consumers, DryRun: b.DryRun,
		Source: b.Source, Shard: b.Shard})
}

func (s *Server) postCleanup(c echo.Context) error {
	var b cleanupBody
	if err := decode(c, &b); err != nil {
		return err
	}
	return s.queue(c, control.Request{Action: control.ActionCleanup, Database: b.Database, DryRun: b.DryRun})
}

func (s *Server) postCheck(c echo.Context) error {
	var b checkBody
	if err := decode(c, &b); err != nil {
		return err
	}
	return s.queue(c, control.Request{Action: control.ActionCheck, Database: b.Database, Backup: b.Backup})
}

func (s *Server) getRequest(c echo.Context) error {
	st, err := s.cp.Status(c.Request().Context(), c.Param("id"))
	if errors.Is(err, sidecar.ErrNotFound) || (err == nil && !s.visible(st.Database)) {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("no request %q", shorten(c.Param("id"))))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// databaseParam is the database a catalog read names: required, a name
// ClickVault accepts, and one this sidecar backs up.
func (s *Server) databaseParam(c echo.Context) (string, error) {
	db := c.QueryParam("database")
	if db == "" {
		return "", echo.NewHTTPError(http.StatusBadRequest, "the database query parameter is required")
	}
	if err := model.ValidateIdentifier("database", db); err != nil {
		return "", echo.NewHTTPError(http.StatusBadRequest, shorten(err.Error()))
	}
	if !s.visible(db) {
		return "", echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("database %q is not one this sidecar backs up", db))
	}
	return db, nil
}

// maxSetsListed bounds GET /v1/sets: each set listed is one read of S3.
const maxSetsListed = 100

// listSets is GET /v1/sets?database=[&limit=]: a cluster node's newest
// sets of the database, newest first (limit 20 by default, 100 at most).
func (s *Server) listSets(c echo.Context) error {
	if s.sets == nil {
		return echo.NewHTTPError(http.StatusNotFound, "this sidecar is not a cluster node: it makes no sets")
	}
	db, err := s.databaseParam(c)
	if err != nil {
		return err
	}
	limit := 20
	if l := c.QueryParam("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > maxSetsListed {
			return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("limit must be 1 to %d", maxSetsListed))
		}
	}
	sets, err := s.sets(c.Request().Context(), db, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sets)
}

func (s *Server) listBackups(c echo.Context) error {
	db, err := s.databaseParam(c)
	if err != nil {
		return err
	}
	rows, err := s.cp.CatalogRows(c.Request().Context(), db)
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []control.CatalogRow{} // [] rather than null for a database without backups
	}
	return c.JSON(http.StatusOK, rows)
}
