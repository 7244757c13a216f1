package game_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gallows-game/gallows/backend/game"
)

func TestCategories(t *testing.T) {
	cats := game.Categories()
	if len(cats) < 5 {
		t.Errorf("%d categories, want at least 5", len(cats))
	}
	if !slices.IsSorted(cats) {
		t.Errorf("Categories() = %v, not sorted", cats)
	}
	if slices.Contains(cats, game.CustomCategory) {
		t.Errorf("Categories() contains the reserved %q", game.CustomCategory)
	}
	cats[0] = "changed"
	if game.Categories()[0] == "changed" {
		t.Error("Categories() shares its slice")
	}
}

// letters counts the letters a–z in w.
func letters(w string) int {
	n := 0
	for _, c := range w {
		if c >= 'a' && c <= 'z' {
			n++
		}
	}
	return n
}

func TestWordLists(t *testing.T) {
	// fits checks the length rules of each difficulty.
	fits := map[game.Difficulty]func(w string) bool{
		game.Easy:   func(w string) bool { return letters(w) == len(w) && len(w) <= 6 },
		game.Medium: func(w string) bool { return letters(w) == len(w) && len(w) >= 6 && len(w) <= 9 },
		game.Hard:   func(w string) bool { return letters(w) >= 5 },
	}
	for _, cat := range game.Categories() {
		seen := make(map[string]game.Difficulty)
		for _, d := range []game.Difficulty{game.Easy, game.Medium, game.Hard} {
			words, err := game.Words(cat, d)
			if err != nil {
				t.Fatalf("Words(%q, %q): %v", cat, d, err)
			}
			if len(words) < 50 {
				t.Errorf("%s/%s has %d words, want at least 50", cat, d, len(words))
			}
			for _, w := range words {
				if n, err := game.NormalizeWord(w); err != nil || n != w {
					t.Errorf("%s/%s: %q does not normalise to itself: %q, %v", cat, d, w, n, err)
				}
				if !fits[d](w) {
					t.Errorf("%s/%s: %q breaks the length rule", cat, d, w)
				}
				if prev, ok := seen[w]; ok {
					t.Errorf("%s: %q is in both %s and %s", cat, w, prev, d)
				}
				seen[w] = d
			}
		}
		if len(seen) < 150 {
			t.Errorf("%s has %d words, want at least 150", cat, len(seen))
		}
	}
}

func TestWords(t *testing.T) {
	tests := []struct {
		category string
		d        game.Difficulty
		want     error
	}{
		{"animals", game.Easy, nil},
		{" ANIMALS ", "Hard", nil},
		{"food", "", nil},
		{"cars", game.Easy, game.ErrUnknownCategory},
		{"custom", game.Easy, game.ErrUnknownCategory},
		{"", game.Easy, game.ErrUnknownCategory},
		{"food", "brutal", game.ErrUnknownDifficulty},
	}
	for _, tt := range tests {
		words, err := game.Words(tt.category, tt.d)
		if !errors.Is(err, tt.want) || (err == nil) != (len(words) > 0) {
			t.Errorf("Words(%q, %q) = %d words, %v; want %v", tt.category, tt.d, len(words), err, tt.want)
		}
	}
	medium, _ := game.Words("food", game.Medium)
	empty, _ := game.Words("food", "")
	if !slices.Equal(medium, empty) {
		t.Error(`Words("food", "") differs from medium`)
	}
	medium[0] = "changed"
	if again, _ := game.Words("food", game.Medium); again[0] == "changed" {
		t.Error("Words shares its slice")
	}
}

func TestPickWord(t *testing.T) {
	words, err := game.Words("science", game.Hard)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, len(words) - 1} {
		var gotN int
		w, err := game.PickWord("science", game.Hard, func(n int) int { gotN = n; return i })
		if err != nil || w != words[i] || gotN != len(words) {
			t.Errorf("PickWord with index %d = %q, %v (n=%d); want %q (n=%d)", i, w, err, gotN, words[i], len(words))
		}
	}
	if _, err := game.PickWord("nope", game.Easy, func(int) int { return 0 }); !errors.Is(err, game.ErrUnknownCategory) {
		t.Errorf("PickWord unknown category: %v", err)
	}
	if _, err := game.PickWord("music", "x", func(int) int { return 0 }); !errors.Is(err, game.ErrUnknownDifficulty) {
		t.Errorf("PickWord unknown difficulty: %v", err)
	}
}

func TestNormalizeWord(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"cat", "cat", true},
		{"  Polar Bear\n", "polar bear", true},
		{"jiu-jitsu", "jiu-jitsu", true},
		{"shepherd's pie", "shepherd's pie", true},
		{"ox", "ox", true},
		{"a-b", "a-b", true},
		{strings.Repeat("a", 32), strings.Repeat("a", 32), true},
		{strings.Repeat("a", 33), "", false},
		{"", "", false},
		{"a", "", false},
		{"a-", "", false},
		{"-ab", "", false},
		{"ab-", "", false},
		{"'ab", "", false},
		{"a--b", "", false},
		{"a -b", "", false},
		{"a  b", "", false},
		{"a\tb", "", false},
		{"a'", "", false},
		{"a b", "a b", true},
		{"a'-", "", false},
		{"café", "", false},
		{"r2d2", "", false},
		{"under_score", "", false},
		{"--", "", false},
	}
	for _, tt := range tests {
		got, err := game.NormalizeWord(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("NormalizeWord(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, game.ErrInvalidWord) {
			t.Errorf("NormalizeWord(%q) error %v does not wrap ErrInvalidWord", tt.in, err)
		}
	}
}
