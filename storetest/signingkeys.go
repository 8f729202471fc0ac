package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var signingKeyTests = []test{
	{"CreateAndFind", testSigningKeyCreateFind},
	{"OnePerPeriod", testSigningKeyOnePerPeriod},
	{"Concurrent", testSigningKeyConcurrent},
	{"Refused", testSigningKeyRefused},
}

func signingKey(period int64, t time.Time) *doorman.SigningKey {
	return &doorman.SigningKey{ID: "kid-" + uniq(), Period: period, Private: "sealed:v1:" + uniq(), CreatedAt: t}
}

func testSigningKeyCreateFind(t *testing.T, open opener) {
	e := newEnv(t, open)
	if got, err := e.s.FindSigningKeys(e.ctx, 0); err != nil || len(got) != 0 {
		t.Fatalf("FindSigningKeys on an empty store: %v, %v", got, err)
	}
	k5 := signingKey(5, at(time.Minute+us))
	got, err := e.s.CreateSigningKey(e.ctx, k5)
	ok(t, err, "CreateSigningKey")
	var d diff
	d.eq("ID", got.ID, k5.ID)
	d.eq("Period", got.Period, k5.Period)
	d.eq("Private", got.Private, k5.Private)
	d.time("CreatedAt", got.CreatedAt, k5.CreatedAt)
	if len(d) > 0 {
		t.Errorf("CreateSigningKey returned: %v", d)
	}
	k7 := signingKey(7, at(time.Hour))
	_, err = e.s.CreateSigningKey(e.ctx, k7)
	ok(t, err, "CreateSigningKey")
	k6 := signingKey(6, at(time.Hour/2))
	_, err = e.s.CreateSigningKey(e.ctx, k6)
	ok(t, err, "CreateSigningKey")

	for _, tc := range []struct {
		min  int64
		want []*doorman.SigningKey
	}{
		{0, []*doorman.SigningKey{k7, k6, k5}},
		{6, []*doorman.SigningKey{k7, k6}},
		{7, []*doorman.SigningKey{k7}},
		{8, nil},
	} {
		list, err := e.s.FindSigningKeys(e.ctx, tc.min)
		ok(t, err, "FindSigningKeys")
		if len(list) != len(tc.want) {
			t.Errorf("FindSigningKeys(%d): %d keys, want %d", tc.min, len(list), len(tc.want))
			continue
		}
		for i, k := range list {
			w := tc.want[i]
			if k.ID != w.ID || k.Period != w.Period || k.Private != w.Private || !k.CreatedAt.Equal(w.CreatedAt) {
				t.Errorf("FindSigningKeys(%d)[%d] = %+v, want %+v", tc.min, i, k, w)
			}
		}
	}
}

func testSigningKeyOnePerPeriod(t *testing.T, open opener) {
	e := newEnv(t, open)
	first := signingKey(3, at(0))
	_, err := e.s.CreateSigningKey(e.ctx, first)
	ok(t, err, "CreateSigningKey")
	got, err := e.s.CreateSigningKey(e.ctx, signingKey(3, at(time.Second)))
	ok(t, err, "CreateSigningKey of a period that has a key")
	if got.ID != first.ID || got.Private != first.Private || !got.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("second key of period 3: got %+v, want the first %+v", got, first)
	}
	list, err := e.s.FindSigningKeys(e.ctx, 0)
	ok(t, err, "FindSigningKeys")
	if len(list) != 1 || list[0].ID != first.ID {
		t.Errorf("FindSigningKeys = %d keys, want the first alone", len(list))
	}
}

// testSigningKeyConcurrent: nodes that start together each offer a key of
// their own for the period; one is stored, and every node gets that one.
func testSigningKeyConcurrent(t *testing.T, open opener) {
	e := newEnv(t, open)
	const n = 8
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := e.s.CreateSigningKey(e.ctx, signingKey(11, at(time.Duration(i)*us)))
			if err != nil {
				t.Errorf("CreateSigningKey: %v", err)
				return
			}
			ids[i] = k.ID
		})
	}
	wg.Wait()
	list, err := e.s.FindSigningKeys(e.ctx, 0)
	ok(t, err, "FindSigningKeys")
	if len(list) != 1 {
		t.Fatalf("%d keys stored for one period, want 1", len(list))
	}
	for i, id := range ids {
		if id != list[0].ID {
			t.Errorf("caller %d got key %q, the stored one is %q", i, id, list[0].ID)
		}
	}
}

func testSigningKeyRefused(t *testing.T, open opener) {
	e := newEnv(t, open)
	k := signingKey(1, at(0))
	_, err := e.s.CreateSigningKey(e.ctx, k)
	ok(t, err, "CreateSigningKey")
	dup := signingKey(2, at(0))
	dup.ID = k.ID
	_, err = e.s.CreateSigningKey(e.ctx, dup)
	wantCode(t, err, doorman.ECONFLICT, "CreateSigningKey with a taken id")
	for name, edit := range map[string]func(*doorman.SigningKey){
		"no id":          func(k *doorman.SigningKey) { k.ID = "" },
		"no private key": func(k *doorman.SigningKey) { k.Private = "" },
		"NUL in id":      func(k *doorman.SigningKey) { k.ID = "a\x00b" },
	} {
		bad := signingKey(3, at(0))
		edit(bad)
		_, err := e.s.CreateSigningKey(e.ctx, bad)
		wantCode(t, err, doorman.EINVALID, fmt.Sprintf("CreateSigningKey, %s", name))
	}
	list, err := e.s.FindSigningKeys(e.ctx, 0)
	ok(t, err, "FindSigningKeys")
	if len(list) != 1 {
		t.Errorf("%d keys stored, want the first alone", len(list))
	}
}
