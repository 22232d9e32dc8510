package cli

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// commandGroups returns the path below the root (e.g. ["vault"]) of every command under cmd
// that has subcommands.
func commandGroups(cmd *cobra.Command, path []string) [][]string {
	var groups [][]string
	for _, sub := range cmd.Commands() {
		subPath := slices.Concat(path, []string{sub.Name()})
		if sub.HasSubCommands() {
			groups = append(groups, subPath)
		}
		groups = append(groups, commandGroups(sub, subPath)...)
	}
	return groups
}

// runCairn runs a fresh command tree with args and returns its stdout and Execute's error.
func runCairn(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	root := NewRootCommand(Env{Stdout: &out, Stderr: &errOut})
	root.SetArgs(slices.Concat([]string{}, args)) // never nil: nil makes cobra read os.Args
	err := root.Execute()
	return out.String(), err
}

// nearMiss is name with its middle letter dropped, a typo cobra's suggestions should catch.
func nearMiss(name string) string {
	return name[:len(name)/2] + name[len(name)/2+1:]
}

func TestEveryCommandGroupFailsOnAnUnknownSubcommand(t *testing.T) {
	root := NewRootCommand(Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
	groups := commandGroups(root, nil)
	if len(groups) == 0 {
		t.Fatal("found no command groups")
	}
	for _, path := range groups {
		group, _, err := root.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		var first string
		for _, sub := range group.Commands() {
			if sub.IsAvailableCommand() {
				first = sub.Name()
				break
			}
		}
		commandPath := "cairn " + strings.Join(path, " ")
		t.Run(strings.Join(path, "_"), func(t *testing.T) {
			out, err := runCairn(slices.Concat(path, []string{"no-such-verb", "x"})...)
			want := `unknown command "no-such-verb" for "` + commandPath + `"`
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("want an error containing %q, got %v", want, err)
			} else if hint := "Run '" + commandPath + " --help' for usage."; !strings.Contains(err.Error(), hint) {
				t.Errorf("error lacks %q:\n%v", hint, err)
			}
			if out != "" {
				t.Errorf("help printed on an unknown subcommand:\n%s", out)
			}

			typo := nearMiss(first)
			_, err = runCairn(slices.Concat(path, []string{typo})...)
			if err == nil || !strings.Contains(err.Error(), "Did you mean this?") || !strings.Contains(err.Error(), "\n\t"+first+"\n") {
				t.Errorf("%s %s: want a suggestion of %q, got %v", commandPath, typo, first, err)
			}

			out, err = runCairn(path...)
			if err != nil {
				t.Errorf("bare %s: %v", commandPath, err)
			}
			if !strings.Contains(out, "Available Commands") {
				t.Errorf("bare %s printed no help:\n%s", commandPath, out)
			}
		})
	}
}

func TestRootSuggestsTheNearestCommand(t *testing.T) {
	out, err := runCairn("bakup")
	if err == nil || !strings.Contains(err.Error(), `unknown command "bakup" for "cairn"`) ||
		!strings.Contains(err.Error(), "Did you mean this?\n\tbackup\n") {
		t.Errorf("want an unknown command error suggesting backup, got %v", err)
	}
	if out != "" {
		t.Errorf("help printed on an unknown command:\n%s", out)
	}

	out, err = runCairn()
	if err != nil {
		t.Errorf("bare cairn: %v", err)
	}
	if !strings.Contains(out, "Available Commands") {
		t.Errorf("bare cairn printed no help:\n%s", out)
	}
}
