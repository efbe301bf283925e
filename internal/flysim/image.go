package flysim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	fly "github.com/superfly/fly-go"
)

// resolveImage finds the local command for an image reference.
func (s *Server) resolveImage(ref string) (Image, error) {
	if ref == "" {
		return Image{}, fmt.Errorf("invalid config.image: image is required")
	}
	if img, ok := s.opts.Images[ref]; ok {
		return cloneImage(img), nil
	}
	if s.opts.ResolveImage != nil {
		img, err := s.opts.ResolveImage(ref)
		if err != nil {
			return Image{}, fmt.Errorf("image %q: %w", ref, err)
		}
		return cloneImage(img), nil
	}
	return Image{}, fmt.Errorf("failed to get manifest for image %q: not found (flysim has no local command for it)", ref)
}

func cloneImage(img Image) Image {
	img.Entrypoint = slices.Clone(img.Entrypoint)
	img.Argv = slices.Clone(img.Argv)
	img.Env = maps.Clone(img.Env)
	img.Labels = maps.Clone(img.Labels)
	return img
}

// imageRef splits a reference into the image_ref Fly reports. A tag without
// a digest gets a stable made-up digest, as Fly resolves tags to digests.
func imageRef(ref string, labels map[string]string) fly.MachineImageRef {
	var out fly.MachineImageRef
	rest := ref
	if i := strings.Index(rest, "@"); i >= 0 {
		out.Digest = rest[i+1:]
		rest = rest[:i]
	}
	if i := strings.LastIndex(rest, ":"); i >= 0 && !strings.Contains(rest[i:], "/") {
		out.Tag = rest[i+1:]
		rest = rest[:i]
	}
	if i := strings.Index(rest, "/"); i >= 0 && strings.ContainsAny(rest[:i], ".:") {
		out.Registry = rest[:i]
		rest = rest[i+1:]
	} else {
		out.Registry = "docker-hub-mirror.fly.io"
		if !strings.Contains(rest, "/") {
			rest = "library/" + rest
		}
	}
	out.Repository = rest
	if out.Tag == "" && out.Digest == "" {
		out.Tag = "latest"
	}
	if out.Digest == "" {
		sum := sha256.Sum256([]byte(ref))
		out.Digest = "sha256:" + hex.EncodeToString(sum[:])
	}
	out.Labels = maps.Clone(labels)
	return out
}
