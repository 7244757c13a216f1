package game_test

import (
	"errors"
	"testing"

	"github.com/gallows-game/gallows/backend/game"
)

// TestNormalizeLetterASCIIOnly checks that a letter is exactly one ASCII
// letter after trimming, folded by ASCII rules: look-alikes that Unicode
// case folding would turn into a–z are refused.
func TestNormalizeLetterASCIIOnly(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"lower", "k", "k"},
		{"upper", "K", "k"},
		{"upper I", "I", "i"},
		{"trimmed", "a ", "a"},
		{"trimmed both sides", "\t Z \n", "z"},
		{"kelvin sign", "\u212a", ""},
		{"kelvin sign trimmed", " \u212a ", ""},
		{"dotted capital I", "\u0130", ""},
		{"dotless small i", "\u0131", ""},
		{"long s", "\u017f", ""},
		{"angstrom sign", "\u212b", ""},
		{"sharp s", "ß", ""},
		{"full-width a", "ａ", ""},
		{"full-width A", "Ａ", ""},
		{"e acute", "é", ""},
		{"two letters", "ab", ""},
		{"letter and combining mark", "i\u0307", ""},
		{"digit", "7", ""},
		{"empty", "", ""},
		{"space", " ", ""},
		{"NUL", "\x00", ""},
		{"invalid UTF-8", "\xff", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := game.NormalizeLetter(tt.in)
			if got != tt.want || (err == nil) != (tt.want != "") {
				t.Fatalf("NormalizeLetter(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if err != nil && !errors.Is(err, game.ErrInvalidLetter) {
				t.Fatalf("NormalizeLetter(%q) error %v does not wrap ErrInvalidLetter", tt.in, err)
			}
		})
	}
}

// TestNormalizeWordASCIIOnly checks that a secret word is folded by ASCII
// rules too: a look-alike letter is refused, not taken for a–z.
func TestNormalizeWordASCIIOnly(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"upper", "KIWI", "kiwi"},
		{"trimmed", " Shepherd's Pie ", "shepherd's pie"},
		{"kelvin sign", "\u212aiwi", ""},
		{"dotted capital I", "K\u0130WI", ""},
		{"sharp s", "straße", ""},
		{"full-width", "ｋｉｗｉ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := game.NormalizeWord(tt.in)
			if got != tt.want || (err == nil) != (tt.want != "") {
				t.Fatalf("NormalizeWord(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if err != nil && !errors.Is(err, game.ErrInvalidWord) {
				t.Fatalf("NormalizeWord(%q) error %v does not wrap ErrInvalidWord", tt.in, err)
			}
		})
	}
}
