package cmd

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/spf13/cobra"
)

// helpWidth is the width help text is wrapped to.
const helpWidth = 80

// usageTemplate is cobra's usage template with flag descriptions wrapped
// to helpWidth columns.
var usageTemplate = sync.OnceValue(func() string {
	return strings.NewReplacer(
		"{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}", fmt.Sprintf("{{(.LocalFlags.FlagUsagesWrapped %d) | trimTrailingWhitespaces}}", helpWidth),
		"{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}", fmt.Sprintf("{{(.InheritedFlags.FlagUsagesWrapped %d) | trimTrailingWhitespaces}}", helpWidth),
	).Replace((&cobra.Command{}).UsageTemplate())
})

// newCmdHelp replaces cobra's help command, which answers an unknown topic
// with the whole usage on stdout and exit 0: here it is a usage error on
// stderr (exit 2) that suggests the nearest topic.
func newCmdHelp(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [command or topic]",
		Short: "Help about any command or topic",
		Long: `Help about any command, or one of the topics: exit-codes, environment,
storage. Type authctl help COMMAND for a command's flags.`,
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			var names []string
			for _, c := range root.Commands() {
				if c.IsAvailableCommand() || c.IsAdditionalHelpTopicCommand() {
					names = append(names, c.Name())
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			target, rest, err := root.Find(args)
			if err != nil || target == nil || len(rest) > 0 {
				if target == nil {
					target = root
				}
				return unknownSubcommand(target, strings.Join(args, " "), "help topic")
			}
			target.InitDefaultHelpFlag()
			return target.Help()
		},
	}
}

// noSubcommand is the Args check of a command that has subcommands: an
// argument that names none of them is a usage error suggesting the
// nearest (authctl token show: did you mean print?).
func noSubcommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return unknownSubcommand(c, args[0], "command")
}

func unknownSubcommand(c *cobra.Command, name, what string) error {
	msg := fmt.Sprintf("unknown %s %q for %q", what, name, c.CommandPath())
	prefix := c.CommandPath()
	if what == "help topic" {
		prefix = c.Root().CommandPath() + " help " + strings.TrimSpace(strings.TrimPrefix(c.CommandPath(), c.Root().CommandPath()))
	}
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2
	}
	s := c.SuggestionsFor(lastWord(name))
	if len(s) == 0 {
		if n := closest(lastWord(name), topicNames(c)); n != "" {
			s = []string{n}
		}
	}
	if len(s) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", strings.Join(strings.Fields(prefix+" "+s[0]), " "))
	}
	return usageErrorf("%s (see: %s --help)", msg, c.CommandPath())
}

func lastWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return s
	}
	return f[len(f)-1]
}

// topicNames lists the help topics and commands under c.
func topicNames(c *cobra.Command) []string {
	var names []string
	for _, sub := range c.Commands() {
		names = append(names, sub.Name())
	}
	return names
}

// cobraSuggestion finds cobra's own "Did you mean this?" list.
var cobraSuggestion = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?s)^(unknown command "[^"]*" for "([^"]*)")\s*Did you mean this\?\s*(\S+).*$`)
})

// tidyCobraError turns an error cobra wrote over several lines into one.
func tidyCobraError(msg string) string {
	if m := cobraSuggestion().FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%s; did you mean %q?", m[1], m[2]+" "+m[3])
	}
	return oneLine(msg)
}

// rewrapLong wraps the lines longer than helpWidth in the help of c and
// its subcommands (cobra's own completion commands), keeping each line's
// indentation.
func rewrapLong(c *cobra.Command) {
	var out []string
	for _, line := range strings.Split(c.Long, "\n") {
		if len(line) <= helpWidth {
			out = append(out, line)
			continue
		}
		indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		for _, l := range wrap(line, helpWidth-len(indent)) {
			out = append(out, indent+l)
		}
	}
	c.Long = strings.Join(out, "\n")
	for _, sub := range c.Commands() {
		rewrapLong(sub)
	}
}
