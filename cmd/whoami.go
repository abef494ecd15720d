package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"

	"github.com/spf13/cobra"

	"github.com/authctl/authctl/safetext"
	"github.com/authctl/authctl/token"
)

// WhoamiOptions is one `authctl whoami`.
type WhoamiOptions struct {
	IO      IOStreams
	Profile *Profile
	JSON    bool
}

// NewCmdWhoami returns `authctl whoami`; runF, when not nil, receives the
// options instead of whoamiRun (tests).
func NewCmdWhoami(f *Factory, runF func(context.Context, *WhoamiOptions) error) *cobra.Command {
	opts := &WhoamiOptions{IO: f.IO()}
	c := &cobra.Command{
		Use:   "whoami",
		Short: "Ask the provider who the current token belongs to (userinfo)",
		Long: `Call the provider's userinfo endpoint with the profile's access token (through
the same transport as authctl curl: refreshed when needed, one retry after
a 401) and print the claims, readably or as --json.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			p, err := f.Profile(nil, false)
			if err != nil {
				return err
			}
			opts.Profile = p
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return whoamiRun(c.Context(), opts)
		},
	}
	c.Flags().BoolVar(&opts.JSON, "json", false, "print the provider's JSON")
	return c
}

// whoamiRun asks the provider's userinfo endpoint.
func whoamiRun(ctx context.Context, opts *WhoamiOptions) error {
	p := opts.Profile
	if err := p.RequireLoggedIn(); err != nil {
		return err
	}
	p.WarnInsecure(opts.IO.ErrOut)
	if _, err := p.Source.Load(ctx); err != nil {
		return needLogin(err, p)
	}
	m, err := p.Metadata(ctx)
	if err != nil {
		return err
	}
	if m.UserinfoEndpoint == "" {
		return fmt.Errorf("the provider advertises no userinfo endpoint (set userinfo_url in the profile)")
	}
	// The provider client's time limit bounds this request too.
	client := &http.Client{
		Transport: &token.Transport{Source: p.Source, Base: p.HTTPClient.Transport},
		Timeout:   p.HTTPClient.Timeout,
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.UserinfoEndpoint, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return needLogin(fmt.Errorf("userinfo: %w", err), p)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("userinfo: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("userinfo: the provider answered %s %s", safetext.Redact(resp.Status, 60), safetext.Redact(resp.Header.Get("WWW-Authenticate"), 300))
	}
	var claims map[string]any
	if err := json.Unmarshal(body, &claims); err != nil {
		return fmt.Errorf("userinfo: the provider's answer is not JSON")
	}
	if opts.JSON {
		var out bytes.Buffer
		_ = json.Indent(&out, body, "", "  ")
		fmt.Fprintln(opts.IO.Out, out.String())
		return nil
	}
	keys := make([]string, 0, len(claims))
	for k := range claims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, ok := claims[k].(string)
		if !ok {
			b, _ := json.Marshal(claims[k])
			v = string(b)
		}
		// The provider's claims, shown to a person: printable, one line each.
		fmt.Fprintf(opts.IO.Out, "%-20s %s\n", safetext.Clean(k, 60)+":", safetext.Clean(v, 500))
	}
	return nil
}
