package s3_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/s3"
)

// answer is how the fake store answers one request: its Date's offset
// from now, and whether it names an S3 request id and an Age.
type answer struct {
	off       time.Duration
	requestID bool
	age       bool
}

// datedStore is a store whose answers, one per Ping, are dated as answers
// says in turn (the last one repeated).
func datedStore(t *testing.T, answers ...answer) *s3.ObjectStore {
	t.Helper()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		a := answers[0]
		if len(answers) > 1 {
			answers = answers[1:]
		}
		mu.Unlock()
		w.Header().Set("Date", time.Now().Add(a.off).UTC().Format(http.TimeFormat))
		if a.requestID {
			w.Header().Set("X-Amz-Request-Id", "r")
		}
		if a.age {
			w.Header().Set("Age", "30")
		}
	}))
	t.Cleanup(srv.Close)
	store, err := s3.New(context.Background(), s3.Config{Endpoint: srv.URL, Region: "us-east-1", Bucket: "b", AccessKey: "k", SecretKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

func ping(t *testing.T, store *s3.ObjectStore, times int) {
	t.Helper()
	for range times {
		if err := store.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func s3Answer(off time.Duration) answer { return answer{off: off, requestID: true} }

// TestClockOffsetIsWhatAnswersAgreeOn: an offset is taken once three
// answers in a row agree on it, and one answer dated an hour off, an answer no S3
// gave (no request id: a proxy's page) or a cached one moves nothing.
func TestClockOffsetIsWhatAnswersAgreeOn(t *testing.T) {
	hour := time.Hour
	cases := []struct {
		name    string
		answers []answer
		pings   int
		want    time.Duration
		known   bool
	}{
		{"two answers are too few", []answer{s3Answer(hour)}, 2, 0, false},
		{"three agreeing answers", []answer{s3Answer(hour)}, 3, hour, true},
		{"one answer an hour off", []answer{s3Answer(0), s3Answer(0), s3Answer(hour), s3Answer(0)}, 8, 0, true},
		{"a proxy's page", []answer{s3Answer(0), {off: hour}}, 8, 0, false},
		{"a cached answer", []answer{s3Answer(0), {off: hour, requestID: true, age: true}}, 8, 0, false},
		{"two nodes an hour apart", []answer{s3Answer(0), s3Answer(hour), s3Answer(0), s3Answer(hour), s3Answer(0), s3Answer(hour)}, 6, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := datedStore(t, c.answers...)
			ping(t, store, c.pings)
			off, known := store.ClockOffset()
			if known != c.known || (off-c.want).Abs() > 1500*time.Millisecond {
				t.Fatalf("offset %v (taken %v), want %v (taken %v)", off, known, c.want, c.known)
			}
		})
	}
}

// TestClockOffsetDoesNotJitter: answers dated 2 s ahead read, by their
// whole seconds, 1.5 to 2.5 s; the offset taken stays as it was taken,
// and so does the clock the leases are judged on.
func TestClockOffsetDoesNotJitter(t *testing.T) {
	store := datedStore(t, s3Answer(2*time.Second))
	ping(t, store, 5)
	first, known := store.ClockOffset()
	if !known {
		t.Fatal("no offset taken after three agreeing answers")
	}
	applied := coord.StoreOffset(store)
	for range 20 {
		ping(t, store, 1)
		time.Sleep(50 * time.Millisecond) // across the Date's seconds
		if off, _ := store.ClockOffset(); off != first || coord.StoreOffset(store) != applied {
			t.Fatalf("offset moved %v → %v (applied %v → %v) with answers that agree within a second",
				first, off, applied, coord.StoreOffset(store))
		}
	}
}
