package sidecar

import (
	"context"
	"fmt"

	"github.com/clickvault/clickvault/sidecar/coord"
	"github.com/clickvault/clickvault/sidecar/model"
)

// readBackup reads a folder's metadata, filling what the seed's lacks.
func (s *catalogs) readBackup(ctx context.Context, folder string) (model.Backup, error) {
	data, _, err := s.store.Get(ctx, coord.MetaKey(folder))
	if err != nil {
		return model.Backup{}, fmt.Errorf("read metadata of %s: %w", folder, err)
	}
	meta, err := model.DecodeMeta(data)
	if err != nil {
		return model.Backup{}, fmt.Errorf("%w in %s: %w", model.ErrBadMeta, folder, err)
	}
	if meta.Name == "" {
		meta.Name = coord.FolderName(folder)
	}
	if meta.Timestamp.IsZero() {
		meta.Timestamp, _ = model.ParseName(meta.Name)
	}
	return model.Backup{Meta: meta, Folder: folder}, nil
}

// writeMeta stores a backup's metadata.
func (s *catalogs) writeMeta(ctx context.Context, b model.Backup) error {
	data, err := model.EncodeMeta(b.Meta)
	if err != nil {
		return err
	}
	if _, err := s.store.Put(ctx, coord.MetaKey(b.Folder), data, coord.PutCondition{}); err != nil {
		return fmt.Errorf("write metadata of %s: %w", b.Name, err)
	}
	return nil
}
