package handlers

import (
	"net/http"
	"net/url"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// inviteURL is the address of a room as the browser reached this
// frontend: opening it joins the room (after picking a nickname).
func inviteURL(r *http.Request, room string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: "/rooms/" + room}
	return u.String()
}

// inviteQR serves the QR code of a room's invite link as a PNG. It
// checks only the code's form, not that the room exists: the picture says
// nothing a link would not.
func (h *Handlers) inviteQR(w http.ResponseWriter, r *http.Request) {
	room := strings.ToUpper(r.PathValue("id"))
	if !roomCodeForm(room) {
		http.Error(w, "not a room code", http.StatusNotFound)
		return
	}
	png, err := qrcode.Encode(inviteURL(r, room), qrcode.Medium, 296)
	if err != nil {
		h.log.Warn("invite QR code", "room", room, "err", err)
		http.Error(w, "no QR code", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = w.Write(png)
}

// roomCodeForm reports whether s looks like a room code: 1 to 12 letters
// and digits. (The backends decide which codes exist.)
func roomCodeForm(s string) bool {
	if s == "" || len(s) > 12 {
		return false
	}
	for _, c := range s {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
