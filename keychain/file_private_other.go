//go:build !unix

package keychain

import "io/fs"

// checkPrivate accepts everything where Unix file modes do not apply
// (Windows keeps the file private through its profile directory's ACL).
func checkPrivate(string, fs.FileInfo) error { return nil }
