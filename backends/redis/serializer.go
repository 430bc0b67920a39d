package redis

import (
	"github.com/dogpile-go/dogpile/pickle"
	"github.com/dogpile-go/dogpile/region"
)

// DefaultSerializer returns the payload serializer of a region that names
// none: pickle with Python 3's default protocol (pickle.Serializer{}), as
// dogpile.cache's Redis backends store pickle.dumps(value). Every pickle
// protocol is read.
func DefaultSerializer() region.Serializer { return pickle.Serializer{} }
