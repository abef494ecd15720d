package main

import (
	"errors"
	"os"
	"runtime"

	"github.com/authctl/authctl/tokencache"
)

// The end-to-end scripts about the access-token cache in the kernel
// keyring (testdata/script/cache_*.txtar, and every script that shows a
// keychain that cannot be read) run with and without it: the suite is
// also run built with the authctl_nokeyctl tag, as in a container whose
// seccomp profile refuses keyctl. They tell the two apart with
//
//	[kernelcache]  the authctl under test caches access tokens in the
//	               kernel keyring (not: it reads the keychain every time)

// kernelCacheCondition answers [kernelcache]. A Linux test machine whose
// kernel refuses keyctl is an error under AUTHCTL_TEST_REQUIRE_REAL=1,
// unless the suite was built without keyctl on purpose.
func kernelCacheCondition() (bool, error) {
	err := tokencache.New().Available()
	if err == nil {
		return true, nil
	}
	if !builtWithoutKeyctl && runtime.GOOS == "linux" && os.Getenv("AUTHCTL_TEST_REQUIRE_REAL") == "1" {
		return false, errors.New("the kernel keyring is required (AUTHCTL_TEST_REQUIRE_REAL=1) but " + err.Error())
	}
	return false, nil
}

// clearCachedTokens drops whatever a script left in the kernel keyring
// for its profiles.
func clearCachedTokens(profiles ...string) {
	c := tokencache.New()
	for _, p := range profiles {
		_ = c.Invalidate(p)
	}
}
