package handlers

import (
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestCreateFormNumbers: the create form's numbers parse, empty ones are
// 0, and one that is not a number is refused (not taken as 0: an endless
// room nobody asked for).
func TestCreateFormNumbers(t *testing.T) {
	tests := []struct {
		name                string
		form                url.Values
		wantRounds, wantTTL int
		wantErr             bool
	}{
		{"set", url.Values{"rounds": {"3"}, "turn_seconds": {"30"}}, 3, 30, false},
		{"empty", url.Values{"rounds": {""}}, 0, 0, false},
		{"rounds not a number", url.Values{"rounds": {"three"}}, 0, 0, true},
		{"seconds not a number", url.Values{"rounds": {"5"}, "turn_seconds": {"1e3"}}, 5, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/rooms", strings.NewReader(tt.form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			f, err := createForm(r)
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, errBadRequest)) {
				t.Fatalf("err = %v, want an error %v (bad request)", err, tt.wantErr)
			}
			if f.Rounds != tt.wantRounds || f.TurnSeconds != tt.wantTTL {
				t.Errorf("form %+v, want rounds %d, turn seconds %d", f, tt.wantRounds, tt.wantTTL)
			}
		})
	}
}
