package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// envName is the environment variable that sets a flag: GALLOWS_DATA_DIR for --data-dir.
func envName(flagName string) string {
	return "GALLOWS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse reads flags from args, then each flag args did not set from the
// environment, so the command line wins, also over a list flag's
// variable. The usage text names each flag's variable.
//
// A bad flag is one error, in --flag spelling, with the command to get
// help; the caller prints it once. Only --help prints the usage.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer, summary string) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "%s\n\nFlags (each also from its environment variable):\n", summary)
			fs.VisitAll(func(f *flag.Flag) {
				if isHidden(f) {
					return
				}
				def := ""
				if f.DefValue != "" {
					def = fmt.Sprintf(" (default %q)", f.DefValue)
				}
				fmt.Fprintf(stderr, "  --%s  [%s]\n      %s%s\n", f.Name, envName(f.Name), f.Usage, def)
			})
			return err
		}
		return fmt.Errorf("%s (see: gallows %s --help)", doubleDash(err.Error()), fs.Name())
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := os.LookupEnv(envName(f.Name)); ok && err == nil && !onCommandLine[f.Name] && !isHidden(f) {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)
			}
		}
	})
	return err
}

// hiddenUsage starts the usage of a flag that --help does not list and
// no environment variable sets: one for gallows dev's own use, such as
// backend --dev-faults.
const hiddenUsage = "hidden: "

func isHidden(f *flag.Flag) bool { return strings.HasPrefix(f.Usage, hiddenUsage) }

// doubleDash rewrites the flag package's -name spelling in msg as --name.
func doubleDash(msg string) string {
	for _, prefix := range []string{"not defined: -", "argument: -", "for flag -"} {
		msg = strings.Replace(msg, prefix, prefix+"-", 1)
	}
	return msg
}

// listFlag is a comma-separated list that may also be repeated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// levelFlag is a slog level by name.
type levelFlag struct{ slog.LevelVar }

func (l *levelFlag) Set(v string) error { return l.UnmarshalText([]byte(v)) }

// String is the level's name in lower case, as --help shows the default.
func (l *levelFlag) String() string { return strings.ToLower(l.Level().String()) }

func newLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
