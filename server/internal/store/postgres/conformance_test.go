package postgres

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/server/internal/sealkeys"
	"github.com/taiwa-chat/taiwa/server/internal/store"
	"github.com/taiwa-chat/taiwa/server/internal/store/postgres/pgtest"
	"github.com/taiwa-chat/taiwa/server/internal/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// openDSN opens a store on dsn with its own key-encryption key directory.
func openDSN(t testing.TB, dsn string, opt Options) *DB {
	t.Helper()
	if opt.MasterKey == nil {
		opt.MasterKey = sealkeys.NewMasterKey()
	}
	if opt.KEKDir == "" {
		opt.KEKDir = t.TempDir()
	}
	db, err := Open(context.Background(), dsn, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openTest opens a store on a fresh database of the shared cluster.
func openTest(t testing.TB, now func() time.Time, publish func([]store.Change)) store.Store {
	t.Helper()
	return openDSN(t, pgtest.DB(t), Options{Now: now, Publish: publish})
}

func TestConformance(t *testing.T) { storetest.Run(t, openTest) }
