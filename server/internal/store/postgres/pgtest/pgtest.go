// Package pgtest gives tests a real PostgreSQL, never a mock: a throwaway
// cluster (pgcluster) per test binary with a fresh database per test, or
// a cluster of a test's own to stop, restart or copy. Clusters are
// removed at the end.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/server/internal/pgcluster"
)

// RequireEnv, when set to 1, turns a missing PostgreSQL from a skipped
// test into a failed one (make test sets it: it installs PostgreSQL).
const RequireEnv = "TAIWA_REQUIRE_POSTGRES"

// Attach starts a cluster on a copy of another's directory (Backup).
var Attach = pgcluster.Attach

func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("PostgreSQL: %v", err)
	}
	t.Skipf("no PostgreSQL here (%v); make test installs it", err)
}

var (
	shared     *pgcluster.Cluster
	sharedErr  error
	sharedOnce sync.Once
	dbCount    atomic.Int64
)

// Main runs a package's tests and removes the shared cluster, if any test
// started it: call it from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		if err := shared.Remove(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	return code
}

// Shared returns the package's shared cluster, starting it on first use.
// Without PostgreSQL the test is skipped, or failed under RequireEnv.
func Shared(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	sharedOnce.Do(func() {
		start := time.Now()
		shared, sharedErr = pgcluster.New()
		if sharedErr == nil {
			fmt.Fprintf(os.Stderr, "pgtest: PostgreSQL cluster in %s ready in %v\n", shared.Dir, time.Since(start).Round(time.Millisecond))
		}
	})
	if sharedErr != nil {
		skipOrFail(t, sharedErr)
	}
	return shared
}

// DB creates a fresh database on the shared cluster and returns its
// connection string.
func DB(t testing.TB) string {
	t.Helper()
	dsn, err := Shared(t).CreateDB(context.Background(), fmt.Sprintf("t%d_%d", os.Getpid(), dbCount.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// Own starts a cluster of the test's own, removed at the test's end.
func Own(t testing.TB, options ...string) *pgcluster.Cluster {
	t.Helper()
	if _, err := pgcluster.BinDir(); err != nil {
		skipOrFail(t, err)
	}
	c, err := pgcluster.New(options...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Remove(); err != nil {
			t.Log(err)
		}
	})
	return c
}
