package gallowsv1

import (
	"time"

	"google.golang.org/grpc/keepalive"
)

// The wire contract that the generated code cannot say, shared by the
// backends and their clients (gameclient): written once, here.

// ErrorDomain is the domain of the google.rpc.ErrorInfo detail on every
// error a backend returns; its reason is an ErrorReason name.
const ErrorDomain = "gallows"

// MaxGuessBatch is the most guesses one batch of a GuessStream may carry.
// It keeps an answer under gRPC's default 4 MiB message limit: an answer
// carries each guess's room, and the largest room (64 players with the
// longest names) encodes to under 10 KiB.
const MaxGuessBatch = 256

// MaxBatchTimeout bounds how long a backend works on one batch of a
// GuessStream; it is also a batch's timeout when the batch names none.
const MaxBatchTimeout = 10 * time.Second

// Keepalive makes a connection to a backend whose other end stopped
// answering fail within about 13 s, even when nothing is being sent: a
// room or cluster watch only receives, and a link cut without a reset (a
// partition, a host gone) would otherwise leave it waiting for events that
// never come until the operating system gives up on the TCP connection,
// minutes later. 10 s is the shortest interval gRPC allows a client.
// Every client of a backend uses it (gameclient, and the backends'
// connections to each other); backends permit pings twice as often and
// ping quiet clients the same way.
var Keepalive = keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 3 * time.Second, PermitWithoutStream: true}
