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
// [NextRound], [Rematch], [ExpireTurn], [Join] and [Leave] are applied with
// [State.Apply] or checked with [State.Validate]; a command that fails
// changes nothing.
//
// A room plays endless rounds, or matches of a set number of rounds: once
// a match's last round is over ([Room.MatchOver]) the host starts a
// [Rematch], which keeps the players and sets their match points back to
// 0. A room may give each turn a countdown: a turn that runs out
// ([Room.TurnDeadline]) costs a life when any client sends [ExpireTurn],
// stamped with its proposer's clock like every command's time. In a
// custom-word room the host chose the word, so the host watches
// ([ErrHostWatches]).
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
