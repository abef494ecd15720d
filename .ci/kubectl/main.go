// Command kubectl is kubectl 1.32 built from its Go modules, for CI
// machines without one: the integration tests run the real kubectl as
// authctl's client, and Debian 12's kubernetes-client (1.20) predates the
// client.authentication.k8s.io/v1 exec credential API. .ci/run builds it
// only when kubectl is missing; it is not part of authctl.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	if err := cli.RunNoErrOutput(cmd.NewDefaultKubectlCommand()); err != nil {
		util.CheckErr(err)
	}
}
