package cmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"

	"github.com/spf13/cobra"

	"github.com/authctl/authctl/safetext"
	"github.com/authctl/authctl/token"
)

func (a *app) newWhoami() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "whoami",
		Short: "Ask the provider who the current token belongs to (userinfo)",
		Long: `Call the provider's userinfo endpoint with the profile's access token (through
the same transport as authctl curl: refreshed when needed, one retry after
a 401) and print the claims, readably or as --json.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			p, err := a.loggedInProfile(c)
			if err != nil {
				return err
			}
			a.warnInsecure(p)
			ctx := c.Context()
			src := a.source(p)
			if _, err := src.Load(ctx); err != nil {
				return needLogin(err, p.Name)
			}
			m, err := a.metadata(ctx, p)
			if err != nil {
				return err
			}
			if m.UserinfoEndpoint == "" {
				return fmt.Errorf("the provider advertises no userinfo endpoint (set userinfo_url in the profile)")
			}
			client := &http.Client{Transport: &token.Transport{Source: src, Base: a.httpClient().Transport}}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.UserinfoEndpoint, nil)
			if err != nil {
				return err
			}
			req.Header.Set("Accept", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				return needLogin(fmt.Errorf("userinfo: %w", err), p.Name)
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
			if asJSON {
				var out bytes.Buffer
				_ = json.Indent(&out, body, "", "  ")
				fmt.Fprintln(a.deps.Stdout, out.String())
				return nil
			}
			keys := make([]string, 0, len(claims))
			for k := range claims {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			// The provider's claims, shown to a person: printable, one line each.
			for _, k := range keys {
				v, ok := claims[k].(string)
				if !ok {
					b, _ := json.Marshal(claims[k])
					v = string(b)
				}
				fmt.Fprintf(a.deps.Stdout, "%-20s %s\n", safetext.Clean(k, 60)+":", safetext.Clean(v, 500))
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the provider's JSON")
	return c
}
