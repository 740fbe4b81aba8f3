package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestWhatAMovingPrimaryLooksLike(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{errNotPrimary, true},
		{fmt.Errorf("acquire: %w", errNotPrimary), true},
		{&pgconn.PgError{Code: "25006"}, true}, // a write on a standby
		{&pgconn.PgError{Code: "57P01"}, true}, // the old primary shuts down
		{&pgconn.PgError{Code: "57P03"}, true}, // the new one is not up yet
		{&pgconn.PgError{Code: "08006"}, true},
		{io.ErrUnexpectedEOF, true},
		{&pgconn.PgError{Code: "28P01"}, false}, // a wrong password stays wrong
		{&pgconn.PgError{Code: "53300"}, false}, // too many connections: a retry adds one
		{&pgconn.PgError{Code: "57014"}, false}, // our own statement limit
		{&pgconn.PgError{Code: "23505"}, false},
		{context.DeadlineExceeded, false},
		{context.Canceled, false},
		{errors.New("something else"), false},
		{nil, false},
	} {
		if got := primaryMoving(c.err); got != c.want {
			t.Errorf("primaryMoving(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
