// Package web renders the HTML of Gallows, multiplayer Hangman played live in
// the browser.
//
// It takes plain view-model structs (see [HomePage], [RoomPage],
// [ClusterPage], [LeaderboardPage] and [ErrorPage]) and knows nothing of the
// backend. Full pages are templ components; [RoomBody] and [ClusterBody] are
// also rendered alone, as the fragments pushed over the websockets
// /ws/rooms/{id} and /ws/cluster. The stylesheet and the small script are
// embedded in [Static] and served by [StaticHandler]; every page works
// without the script.
package web
