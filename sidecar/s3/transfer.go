package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/clickvault/clickvault/sidecar"
)

// Transfer copies objects from one bucket to another (sidecar.ObjectTransfer):
// server-side when both are reached at one endpoint with one set of
// credentials (CopyObject: no byte passes through ClickVault), else
// streamed from a GET into PUTs of at most streamPart bytes each.
type Transfer struct {
	src, dst   *ObjectStore
	serverSide bool
	// Server-side, objects up to singleMax go in one copy; bigger ones in
	// parts of at least partMin bytes (S3 takes at most 5 GiB in one PUT or
	// copy, and 10,000 parts). Streamed, one request carries at most
	// streamPart bytes (more for an object of over 10,000 of them), held in
	// memory so that it goes with its Content-MD5. Tests lower all three.
	singleMax, partMin, streamPart int64
}

var _ sidecar.ObjectTransfer = (*Transfer)(nil)

const (
	maxSingle = 5 << 30
	maxParts  = 10000
)

// NewTransfer copies from src to dst; serverSide says they share endpoint
// and credentials, so dst's client may read src's bucket.
func NewTransfer(src, dst *ObjectStore, serverSide bool) *Transfer {
	return &Transfer{src: src, dst: dst, serverSide: serverSide, singleMax: maxSingle, partMin: 64 << 20, streamPart: streamPartSize}
}

// streamPartSize bounds what one streamed request holds in memory (per
// transfer running; the copier runs a few at once): S3's smallest part
// is 5 MiB, and most files of a ClickHouse backup are smaller than this.
const streamPartSize = 8 << 20

// ServerSide says whether S3 copies the bytes itself.
func (t *Transfer) ServerSide() bool { return t.serverSide }

// Transfer copies srcKey, of size bytes, to dstKey.
func (t *Transfer) Transfer(ctx context.Context, srcKey, dstKey string, size int64) error {
	if t.serverSide {
		if size <= t.singleMax {
			_, err := t.dst.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(t.dst.bucket), Key: aws.String(dstKey),
				CopySource: aws.String(t.copySource(srcKey))})
			return mapErr(err)
		}
		return t.multipart(ctx, dstKey, size, t.partMin, t.copyPart(srcKey))
	}
	return t.streamed(ctx, srcKey, dstKey, size)
}

// streamed sends srcKey's bytes, read by one GET, to dstKey: an object of
// up to streamPart bytes in one PUT, a bigger one in parts. Each request
// carries the Content-MD5 of its bytes, so S3 refuses bytes changed on the
// way, and a bucket with Object Lock (which takes no upload without a
// checksum) takes them; the payload is not signed as well (MD5 covers it).
func (t *Transfer) streamed(ctx context.Context, srcKey, dstKey string, size int64) error {
	resp, err := t.src.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(t.src.bucket), Key: aws.String(srcKey)})
	if err != nil {
		return fmt.Errorf("get %s: %w", srcKey, mapErr(err))
	}
	defer func() { _ = resp.Body.Close() }()
	if got := aws.ToInt64(resp.ContentLength); got != size {
		return fmt.Errorf("get %s: %d bytes, want %d", srcKey, got, size)
	}
	if size > t.streamPart {
		return t.multipart(ctx, dstKey, size, t.streamPart, t.bufferedPart(srcKey, resp.Body))
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(resp.Body, data); err != nil {
		return fmt.Errorf("read %s: %w", srcKey, err)
	}
	_, err = t.dst.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(t.dst.bucket), Key: aws.String(dstKey),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(size), ContentMD5: aws.String(contentMD5(data))},
		s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	return mapErr(err)
}

// copySource is srcKey of the source bucket as CopyObject takes it: URL-encoded.
func (t *Transfer) copySource(srcKey string) string {
	segments := strings.Split(srcKey, "/")
	for i, s := range segments {
		segments[i] = url.PathEscape(s)
	}
	return t.src.bucket + "/" + strings.Join(segments, "/")
}

// partFunc uploads one part (number n, bytes [from, from+length)) of
// upload and returns its ETag.
type partFunc func(ctx context.Context, key, upload string, n int32, from, length int64) (string, error)

func (t *Transfer) copyPart(srcKey string) partFunc {
	return func(ctx context.Context, key, upload string, n int32, from, length int64) (string, error) {
		out, err := t.dst.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(t.dst.bucket), Key: aws.String(key),
			UploadId: aws.String(upload), PartNumber: aws.Int32(n), CopySource: aws.String(t.copySource(srcKey)),
			CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", from, from+length-1))})
		if err != nil {
			return "", mapErr(err)
		}
		return aws.ToString(out.CopyPartResult.ETag), nil
	}
}

// bufferedPart sends the next length bytes of body, in order, read into
// one buffer reused for every part, with their Content-MD5.
func (t *Transfer) bufferedPart(srcKey string, body io.Reader) partFunc {
	var buf []byte
	return func(ctx context.Context, key, upload string, n int32, _, length int64) (string, error) {
		if int64(cap(buf)) < length {
			buf = make([]byte, length)
		}
		part := buf[:length]
		if _, err := io.ReadFull(body, part); err != nil {
			return "", fmt.Errorf("read %s: %w", srcKey, err)
		}
		out, err := t.dst.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(t.dst.bucket), Key: aws.String(key),
			UploadId: aws.String(upload), PartNumber: aws.Int32(n), Body: bytes.NewReader(part), ContentLength: aws.Int64(length),
			ContentMD5: aws.String(contentMD5(part))}, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
		if err != nil {
			return "", mapErr(err)
		}
		return aws.ToString(out.ETag), nil
	}
}

// multipart writes key in parts of at least partMin bytes, one after the
// other (a stream has one reader); a failure aborts the upload, so no part
// is left to pay for.
func (t *Transfer) multipart(ctx context.Context, key string, size, partMin int64, part partFunc) error {
	created, err := t.dst.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(t.dst.bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("start the upload of %s: %w", key, mapErr(err))
	}
	upload := aws.ToString(created.UploadId)
	partSize := max(partMin, (size+maxParts-1)/maxParts)
	var parts []types.CompletedPart
	for n, from := int32(1), int64(0); from < size; n, from = n+1, from+partSize {
		etag, err := part(ctx, key, upload, n, from, min(partSize, size-from))
		if err != nil {
			return errors.Join(fmt.Errorf("send part %d of %s: %w", n, key, err), t.abort(ctx, key, upload))
		}
		parts = append(parts, types.CompletedPart{ETag: aws.String(etag), PartNumber: aws.Int32(n)})
	}
	_, err = t.dst.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(t.dst.bucket), Key: aws.String(key),
		UploadId: aws.String(upload), MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		return errors.Join(fmt.Errorf("complete the upload of %s: %w", key, mapErr(err)), t.abort(ctx, key, upload))
	}
	return nil
}

// abort ends an upload even when ctx is done (its parts would stay,
// invisible and billed).
func (t *Transfer) abort(ctx context.Context, key, upload string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, err := t.dst.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(t.dst.bucket), Key: aws.String(key),
		UploadId: aws.String(upload)})
	if err != nil {
		return fmt.Errorf("abort the upload of %s: %w", key, mapErr(err))
	}
	return nil
}
