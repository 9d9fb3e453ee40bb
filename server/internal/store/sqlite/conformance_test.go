package sqlite

import (
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/server/internal/store"
	"github.com/taiwa-chat/taiwa/server/internal/store/storetest"
)

// openTest opens a fresh store in a temporary directory.
func openTest(t testing.TB, now func() time.Time, publish func([]store.Change)) store.Store {
	t.Helper()
	db, err := Open(t.TempDir(), Options{Now: now, Publish: publish})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) { storetest.Run(t, openTest) }
