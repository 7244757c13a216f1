// Package game implements the rules of Gallows, a multiplayer Hangman game.
//
// The package is pure and deterministic: it never reads the clock, never
// draws random numbers and never lets map iteration order leak into its
// results. Anything chosen by chance or by the clock (room codes, secret
// words, timestamps) arrives in command fields, picked by the proposer before
// the command is replicated. That makes [State.Apply] safe to run inside a
// Raft finite state machine, where every replica must reach the same state
// from the same log.
//
// A [State] holds rooms by code. The commands [CreateRoom], [Guess],
// [NextRound], [Join] and [Leave] are applied with [State.Apply] or checked
// with [State.Validate]; a command that fails changes nothing.
//
// Every command names its player twice: by name, as others see it, and by
// player id, who the player is (the frontend's session). In a room a name
// belongs to the id that took it ([ErrNameTaken] for anyone else), first
// answers are kept per player id, only the host's id may start the next
// round ([ErrForbidden]), and the room's cap counts only players active
// within [IdleAfter].
// [State.Snapshot] and [State.Restore] serialise the whole state
// deterministically.
//
// Word lists for the built-in categories are embedded in the binary; see
// [Categories], [Words] and [PickWord].
package game
