package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// Static holds the stylesheet and script under "static/".
//
//go:embed static
var Static embed.FS

// StaticPath is where [StaticHandler] expects to be mounted.
const StaticPath = "/static/"

// versions maps a file name under static/ to a short hash of its content.
var versions = hashStatic()

func hashStatic() map[string]string {
	m := map[string]string{}
	_ = fs.WalkDir(Static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := Static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	return m
}

// AssetURL returns the URL of a file under static/, with its content hash as
// the "v" query parameter so that it can be cached for good.
func AssetURL(name string) string {
	return StaticPath + name + "?v=" + versions[name]
}

// StaticHandler serves [Static]; mount it at [StaticPath]:
//
//	mux.Handle("GET "+web.StaticPath, web.StaticHandler())
//
// (with the method, so that the pattern does not conflict with "GET /").
// A request whose "v" parameter matches the file's content hash (as made by
// [AssetURL]) is cached for a year; any other is revalidated by ETag.
// Directories are not listed.
func StaticHandler() http.Handler {
	sub, err := fs.Sub(Static, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	files := http.FileServerFS(sub)
	return http.StripPrefix(strings.TrimSuffix(StaticPath, "/"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		v, ok := versions[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", `"`+v+`"`)
		if r.URL.Query().Get("v") == v {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	}))
}
