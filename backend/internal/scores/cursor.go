package scores

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

func encodeCursor(e Entry) string {
	b, _ := json.Marshal(e)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (Entry, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var e Entry
	if err == nil {
		err = json.Unmarshal(b, &e)
	}
	if err != nil || e.PlayerID == "" {
		return Entry{}, fmt.Errorf("%w: bad cursor", ErrInvalid)
	}
	return e, nil
}
