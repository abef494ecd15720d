package keychain

// DefaultStore returns the store authctl uses unless the user opted in to
// --insecure-storage: the OS keychain (NewSystem) with secrets of any size
// split over items small enough for every platform (NewSplit with
// DefaultItemSize). A credential up to DefaultItemSize bytes is one item
// and one read.
func DefaultStore(opts SystemOptions) Store {
	return NewSplit(NewSystem(opts), SplitOptions{})
}
