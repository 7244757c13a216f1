package game

import (
	"fmt"
	"unicode/utf8"
)

// planCreate plans a CreateRoom.
func (s *State) planCreate(c CreateRoom) (step, error) {
	code := NormalizeRoomCode(c.Code)
	switch {
	case code == "":
		return step{}, fmt.Errorf("create room: missing room code: %w", ErrInvalidCommand)
	case !ValidRoomCode(code):
		return step{}, fmt.Errorf("create room: room code %s: %w", quote(c.Code), ErrInvalidCommand)
	}
	fail := func(err error) (step, error) {
		return step{}, fmt.Errorf("create room %s: %w", code, err)
	}
	host, err := identify(c.Host, c.HostID)
	if err != nil {
		return fail(fmt.Errorf("host: %w", err))
	}
	if len(c.RequestID) > MaxRequestIDLen || !utf8.ValidString(c.RequestID) {
		return fail(fmt.Errorf("request id %s: not valid UTF-8 of at most %d bytes: %w", quote(c.RequestID), MaxRequestIDLen, ErrInvalidCommand))
	}
	// A repeated request gets the first answer, the room as it was made,
	// whatever code the proposer picked this time.
	if c.RequestID != "" {
		if first, ok := s.created[createKey(c.HostID, c.RequestID)]; ok {
			return step{cur: s.rooms[first.code], dup: true, reply: first.reply}, nil
		}
	}
	if cur, ok := s.rooms[code]; ok {
		return step{cur: cur}, fmt.Errorf("create room %s: %w", code, ErrRoomExists)
	}
	lives := c.MaxLives
	if lives == 0 {
		lives = DefaultMaxLives
	}
	if lives < 1 || lives > MaxLivesLimit {
		return fail(fmt.Errorf("max lives %d outside 1..%d: %w", c.MaxLives, MaxLivesLimit, ErrInvalidSettings))
	}
	if err := checkMatchSettings(c.Rounds, c.TurnSeconds); err != nil {
		return fail(err)
	}
	category, difficulty, err := roomWords(c)
	if err != nil {
		return fail(err)
	}
	word, err := NormalizeWord(c.Word)
	if err != nil {
		return fail(err)
	}
	return step{next: &Room{
		Code:        code,
		Host:        host,
		HostID:      c.HostID,
		CreatorID:   c.HostID,
		Category:    category,
		Difficulty:  difficulty,
		Custom:      c.Custom,
		Round:       1,
		Rounds:      c.Rounds,
		Match:       1,
		Private:     c.Private,
		TurnSeconds: c.TurnSeconds,
		TurnStart:   c.At,
		Word:        word,
		MaxLives:    lives,
		LivesLeft:   lives,
		Status:      Playing,
		Players:     []Player{{Name: host, ID: c.HostID, LastActive: c.At}},
		Version:     1,
		CreatedAt:   c.At,
		UpdatedAt:   c.At,

		CreateRequest: c.RequestID,
	}}, nil
}

// roomWords returns the category and difficulty a new room records: the
// custom category and an optional difficulty for custom rooms, otherwise a
// known category and a valid difficulty.
func roomWords(c CreateRoom) (string, Difficulty, error) {
	if c.Custom && c.Difficulty == "" {
		return CustomCategory, "", nil
	}
	category := CustomCategory
	if !c.Custom {
		var err error
		if category, err = findCategory(c.Category); err != nil {
			return "", "", err
		}
	}
	d, err := ParseDifficulty(string(c.Difficulty))
	if err != nil {
		return "", "", err
	}
	return category, d, nil
}

// checkMatchSettings refuses, with ErrInvalidSettings, a match length
// other than 0 (endless) or 1 to MaxRounds, and a turn countdown other
// than 0 (none) or MinTurnSeconds to MaxTurnSeconds.
func checkMatchSettings(rounds, turnSeconds int) error {
	if rounds < 0 || rounds > MaxRounds {
		return fmt.Errorf("%d rounds outside 1..%d (or 0, endless): %w", rounds, MaxRounds, ErrInvalidSettings)
	}
	if turnSeconds != 0 && (turnSeconds < MinTurnSeconds || turnSeconds > MaxTurnSeconds) {
		return fmt.Errorf("turn of %d seconds outside %d..%d (or 0, no countdown): %w", turnSeconds, MinTurnSeconds, MaxTurnSeconds, ErrInvalidSettings)
	}
	return nil
}
