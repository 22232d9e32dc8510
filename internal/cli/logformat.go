package cli

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"
)

// Log formats of the long-running commands (vault serve, agent run).
var logFormats = []string{"text", "json"}

// logFlags is the --log-format flag of a long-running command.
type logFlags struct{ format string }

func (f *logFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.format, "log-format", "text", "log format: text (key=value lines) or json (one object a line, for log collectors)")
}

// logger is the command's logger writing to w in the chosen format.
func (f *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	switch f.format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use one of %q", f.format, logFormats)
}
