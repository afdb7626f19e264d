package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
)

// progressPrinter shows a long BACKUP or RESTORE: a line redrawn in place
// on a terminal, else a log line every 10 seconds.
type progressPrinter struct {
	mu       sync.Mutex
	w        io.Writer
	logger   *slog.Logger
	label    string
	terminal bool
	drawn    bool
	lastLog  time.Time
}

func newProgressPrinter(w io.Writer, logger *slog.Logger, label string) *progressPrinter {
	return &progressPrinter{w: w, logger: logger, label: label, terminal: term.IsTerminal(int(os.Stderr.Fd()))}
}

func (p *progressPrinter) update(pr sidecar.Progress) { p.show(p.label, pr) }

// updateFor is update under another label: the backups of a round share
// one printer, and on a terminal its line shows the newest progress of any.
func (p *progressPrinter) updateFor(label string) sidecar.ProgressFunc {
	return func(pr sidecar.Progress) { p.show(label, pr) }
}

func (p *progressPrinter) show(label string, pr sidecar.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal {
		// Progress is a courtesy: a terminal that went away must not fail
		// the backup or restore it shows, whose answer goes to stdout.
		_, _ = fmt.Fprintf(p.w, "\r\033[K%s %s: %s, %d files, %s, %s", label, pr.Backup, pr.Status, pr.NumFiles,
			model.FormatBytes(max(pr.TotalSize, pr.BytesRead)), pr.Elapsed.Round(time.Second))
		p.drawn = true
		return
	}
	if time.Since(p.lastLog) >= 10*time.Second {
		p.lastLog = time.Now()
		p.logger.Info("progress", "operation", pr.Operation, "backup", pr.Backup, "status", pr.Status,
			"files", pr.NumFiles, "bytes", max(pr.TotalSize, pr.BytesRead), "elapsed", pr.Elapsed.Round(time.Second))
	}
}

func (p *progressPrinter) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		_, _ = fmt.Fprintln(p.w) // ends the redrawn line; a courtesy like update
		p.drawn = false
	}
}
