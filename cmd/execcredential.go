package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// The ExecCredential API versions kubectl (client-go) speaks with exec
// credential plugins that authctl answers in.
const (
	execAPIv1      = "client.authentication.k8s.io/v1"
	execAPIv1beta1 = "client.authentication.k8s.io/v1beta1"
)

// execInfoEnv is where kubectl tells an exec plugin what it wants.
const execInfoEnv = "KUBERNETES_EXEC_INFO"

// ExecInfo is what kubectl says in $KUBERNETES_EXEC_INFO when it runs
// authctl as an exec credential plugin.
type ExecInfo struct {
	// APIVersion is the ExecCredential version kubectl reads back.
	APIVersion string
	// Interactive says whether authctl may talk to the person at the
	// terminal (kubectl passed its terminal's stdin on).
	Interactive bool
}

// maxExecInfo bounds $KUBERNETES_EXEC_INFO; kubectl's is a few hundred
// bytes (more with the cluster's CA).
const maxExecInfo = 1 << 20

// parseExecInfo reads $KUBERNETES_EXEC_INFO. Unset, it is version v1
// and not interactive (someone ran the plugin by hand). An API version
// authctl does not speak, or anything but an ExecCredential, is a usage
// error: kubectl shows the message.
func parseExecInfo(raw string) (*ExecInfo, error) {
	if raw == "" {
		return &ExecInfo{APIVersion: execAPIv1}, nil
	}
	if len(raw) > maxExecInfo {
		return nil, usageErrorf("$%s is over %d bytes", execInfoEnv, maxExecInfo)
	}
	var v struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Spec       struct {
			Interactive bool `json:"interactive"`
		} `json:"spec"`
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return nil, usageErrorf("$%s is not an ExecCredential (%v)", execInfoEnv, err)
	}
	if v.Kind != "ExecCredential" {
		return nil, usageErrorf("$%s has kind %q, not ExecCredential", execInfoEnv, v.Kind)
	}
	if v.APIVersion != execAPIv1 && v.APIVersion != execAPIv1beta1 {
		return nil, usageErrorf("kubectl asks for an ExecCredential of apiVersion %q; authctl answers %s and %s: set one of them as the kubeconfig user's exec apiVersion (see: authctl setup kubectl)",
			v.APIVersion, execAPIv1, execAPIv1beta1)
	}
	return &ExecInfo{APIVersion: v.APIVersion, Interactive: v.Spec.Interactive}, nil
}

// writeExecCredential prints t as the ExecCredential kubectl asked for.
// Its expirationTimestamp is when authctl stops handing the token out
// (its expiry less margin, the refresh margin), so kubectl asks again
// before the token goes stale; a token of unknown expiry has none, and
// kubectl keeps it for the life of its process.
func writeExecCredential(out io.Writer, info *ExecInfo, t printable, margin time.Duration) error {
	type status struct {
		ExpirationTimestamp string `json:"expirationTimestamp,omitempty"`
		Token               string `json:"token"`
	}
	type spec struct {
		Interactive bool `json:"interactive"`
	}
	v := struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Spec       spec   `json:"spec"`
		Status     status `json:"status"`
	}{APIVersion: info.APIVersion, Kind: "ExecCredential", Spec: spec{Interactive: info.Interactive}, Status: status{Token: t.Value}}
	if !t.Expiry.IsZero() {
		v.Status.ExpirationTimestamp = formatTime(t.Expiry.Add(-margin))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(out, "%s\n", b); err != nil {
		return fmt.Errorf("write token: %w", err)
	}
	return nil
}
