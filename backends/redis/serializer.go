package redis

import (
	"errors"

	"github.com/dogpile-go/dogpile/region"
)

// DefaultSerializer returns the payload serializer of a region that names
// none: pickle, with Python 3's default protocol, as dogpile.cache's Redis
// backends (pickle.dumps).
func DefaultSerializer() region.Serializer { return pendingPickle{} }

var errPickle = errors.New("redis: the pickle serializer is not available in this build; configure the region with region.WithSerializer(region.JSONSerializer{})")

// pendingPickle stands in for the pickle serializer.
type pendingPickle struct{}

func (pendingPickle) Name() string                { return "pickle" }
func (pendingPickle) Marshal(any) ([]byte, error) { return nil, errPickle }
func (pendingPickle) Unmarshal([]byte, any) error { return errPickle }
func (pendingPickle) Validate(data []byte) error  { return errPickle }
