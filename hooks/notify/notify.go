// Package notify sends ClickVault's events to Slack and generic webhooks. A
// failed notification is returned for logging and never changes the outcome
// of the operation it reports. Errors never carry a webhook URL or header:
// both can be credentials.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/clickvault/clickvault/sidecar"
	"github.com/clickvault/clickvault/sidecar/model"
)

// Target is one provider: where to send and how to shape the body.
type Target struct {
	Name    string // for errors: "slack" or "webhook #2", never the URL
	URL     string
	Method  string
	Headers map[string]string
	Slack   bool // {"text": …} instead of the JSON event
}

// Dispatcher sends events to every target, filtered by outcome.
type Dispatcher struct {
	targets   []Target
	onSuccess bool
	onFailure bool
	client    *http.Client
	attempts  int
	backoff   time.Duration
	down      *downTargets
}

var _ sidecar.Notifier = (*Dispatcher)(nil)

// New returns a dispatcher with a 10 s connect and 30 s request timeout,
// three attempts and exponential backoff from one second.
func New(targets []Target, onSuccess, onFailure bool) *Dispatcher {
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
	return &Dispatcher{targets: targets, onSuccess: onSuccess, onFailure: onFailure,
		client: &http.Client{Timeout: 30 * time.Second, Transport: transport}, attempts: 3, backoff: time.Second,
		down: newDownTargets()}
}

// SetRetry changes attempts and the first backoff, for tests.
func (d *Dispatcher) SetRetry(attempts int, backoff time.Duration) {
	d.attempts, d.backoff = attempts, backoff
}

// Notify sends e to every target and joins their errors.
func (d *Dispatcher) Notify(ctx context.Context, e sidecar.Event) error {
	if (e.Succeeded() && !d.onSuccess) || (!e.Succeeded() && !d.onFailure) {
		return nil
	}
	var errs []error
	for _, t := range d.targets {
		body, err := t.body(e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := d.send(ctx, t, body, d.down.attempts(t.Name, e.Succeeded(), d.attempts)); err != nil {
			errs = append(errs, fmt.Errorf("notify %s: %w", t.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (t Target) body(e sidecar.Event) ([]byte, error) {
	var v any = e
	if t.Slack {
		v = map[string]string{"text": SlackText(e)}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s notification: %w", t.Name, err)
	}
	return b, nil
}

// SlackText is the one-line message for Slack.
func SlackText(e sidecar.Event) string {
	subject := strings.ReplaceAll(e.Event, "_", " ")
	var b strings.Builder
	icon := ":white_check_mark:"
	if !e.Succeeded() {
		icon = ":x:"
	}
	fmt.Fprintf(&b, "%s ClickVault %s: database %s", icon, subject, e.Database)
	if e.Copy != "" {
		fmt.Fprintf(&b, " at copy target %s", e.Copy)
	}
	if e.Backup != "" {
		fmt.Fprintf(&b, ", backup %s", e.Backup)
	}
	if e.Kind != "" {
		fmt.Fprintf(&b, " (%s)", e.Kind)
	}
	if e.StoredBytes > 0 {
		fmt.Fprintf(&b, ", %s stored (%s logical)", model.FormatBytes(e.StoredBytes), model.FormatBytes(e.LogicalBytes))
	}
	fmt.Fprintf(&b, ", %.1fs", e.DurationSeconds)
	if e.RequestedBy != "" {
		fmt.Fprintf(&b, ", requested by %s", e.RequestedBy)
	}
	if e.Error != "" {
		fmt.Fprintf(&b, "\nError: %s", e.Error)
	}
	return b.String()
}

// send posts body, at most attempts times, retrying on 408, 429 and 5xx
// and on connection errors; how it ended tells whether t is down
// (judged).
func (d *Dispatcher) send(ctx context.Context, t Target, body []byte, attempts int) error {
	if attempts == 0 {
		return errReceiverDown
	}
	wait := d.backoff
	var last error
	retry := false
	for attempt := 1; attempt <= attempts; attempt++ {
		var err error
		if retry, err = d.sendOnce(ctx, t, body); err == nil {
			d.down.sent(t.Name, false, nil)
			return nil
		}
		last = err
		if !retry || attempt == attempts {
			break
		}
		select {
		case <-ctx.Done():
			last = fmt.Errorf("%w (after %d attempts)", last, attempt)
		case <-time.After(wait):
		}
		if ctx.Err() != nil {
			break
		}
		wait *= 2
	}
	d.judged(ctx, t, retry, last)
	return last
}

// judged records a send that failed: a receiver that failed every try
// worth retrying is down, but for one that said it is busy (429: it
// answers, and a failure waiting behind successes must keep its tries) or
// a send the sidecar itself cut off (its shutdown cancels: that says
// nothing of t; a deadline, the event's minute, does).
func (d *Dispatcher) judged(ctx context.Context, t Target, retry bool, err error) {
	if errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	d.down.sent(t.Name, retry && !errors.Is(err, errBusy), err)
}

func (d *Dispatcher) sendOnce(ctx context.Context, t Target, body []byte) (retry bool, err error) {
	method := strings.ToUpper(t.Method)
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, t.URL, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("build request: bad URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "clickvault")
	for k, v := range t.Headers {
		req.Header.Set(k, v)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return true, fmt.Errorf("send: %w", withoutURL(err))
	}
	// Only the status counts; the body is not read and its close loses nothing.
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests:
		return true, fmt.Errorf("receiver answered %s: %w", resp.Status, errBusy)
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode >= 500:
		return true, fmt.Errorf("receiver answered %s", resp.Status)
	}
	return false, fmt.Errorf("receiver answered %s", resp.Status)
}

// withoutURL drops the URL an *url.Error prints: for Slack it is the token.
func withoutURL(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil && strings.Contains(err.Error(), "://") {
			return inner
		}
	}
	return err
}
