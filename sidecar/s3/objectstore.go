// Package s3 is the coord.ObjectStore adapter on aws-sdk-go-v2, for AWS S3
// and S3-compatible servers (MinIO) with path-style addressing.
package s3

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // for Content-MD5, S3's integrity header
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/clickvault/clickvault/sidecar/coord"
)

// Config says how to reach the bucket.
type Config struct {
	Endpoint  string // "" = AWS
	Region    string
	Bucket    string
	AccessKey string
	SecretKey string
	// Clock is this host's clock, against which the store's is measured
	// (ClockOffset); nil is time.Now. Tests skew it.
	Clock func() time.Time
}

func (c Config) clock() func() time.Time {
	if c.Clock == nil {
		return time.Now
	}
	return c.Clock
}

// A store that accepts a connection and never answers must not hold a
// round, a mirror or a request for good: a request is given up (and
// retried by the SDK, then by ClickVault) when no connection is made in
// dialTimeout, or no answer's headers come answerTimeout after it was
// sent. Bodies are not timed: an object of gigabytes streams as long as
// it takes. S3 answers a CopyObject's headers at once, whatever its size.
const (
	dialTimeout   = 10 * time.Second
	answerTimeout = 2 * time.Minute
)

// ObjectStore is one bucket.
type ObjectStore struct {
	client   *s3.Client
	bucket   string
	endpoint string
	clock    *clockWatch
}

var _ coord.ObjectStore = (*ObjectStore)(nil)

// Location is the endpoint and bucket: two stores of one bucket (a copy
// target's writer and its reader) hold one set of leases (coord.Located).
func (o *ObjectStore) Location() string { return o.endpoint + " " + o.bucket }

// New builds the client; it makes no request. With no access key it takes
// credentials from the AWS SDK's default chain: the environment
// (AWS_ACCESS_KEY_ID, …), the shared config and credentials files, web
// identity (Kubernetes IRSA), the container or instance role.
func New(ctx context.Context, cfg Config) (*ObjectStore, error) {
	var loadOpts []func(*config.LoadOptions) error
	if cfg.AccessKey != "" || cfg.SecretKey != "" {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, "")))
	}
	loadOpts = append(loadOpts, config.WithHTTPClient(awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = dialTimeout }).
		WithTransportOptions(func(t *http.Transport) { t.ResponseHeaderTimeout = answerTimeout })))
	if cfg.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(cfg.Region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	watch := &clockWatch{local: cfg.clock()}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Deserialize.Add(watch, middleware.After)
		})
		// Checksums only where S3 requires them keeps S3-compatible servers happy.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return &ObjectStore{client: client, bucket: cfg.Bucket, endpoint: strings.TrimRight(cfg.Endpoint, "/"), clock: watch}, nil
}

// URL is where key is: the endpoint URL for S3-compatible servers, s3://
// for AWS. It never holds a credential.
func (o *ObjectStore) URL(key string) string {
	if o.endpoint == "" {
		return "s3://" + o.bucket + "/" + key
	}
	return o.endpoint + "/" + o.bucket + "/" + key
}

// Ping checks the bucket can be reached.
func (o *ObjectStore) Ping(ctx context.Context) error {
	if _, err := o.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(o.bucket)}); err != nil {
		return fmt.Errorf("reach bucket %s: %w", o.bucket, mapErr(err))
	}
	return nil
}

func (o *ObjectStore) List(ctx context.Context, prefix string, recursive bool) (coord.Listing, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(o.bucket), Prefix: aws.String(prefix)}
	if !recursive {
		in.Delimiter = aws.String("/")
	}
	var out coord.Listing
	pages := s3.NewListObjectsV2Paginator(o.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return coord.Listing{}, fmt.Errorf("list %s: %w", prefix, mapErr(err))
		}
		for _, obj := range page.Contents {
			out.Objects = append(out.Objects, coord.ObjectInfo{Key: aws.ToString(obj.Key),
				Size: aws.ToInt64(obj.Size), LastModified: aws.ToTime(obj.LastModified)})
		}
		for _, p := range page.CommonPrefixes {
			out.Folders = append(out.Folders, aws.ToString(p.Prefix))
		}
	}
	return out, nil
}

func (o *ObjectStore) Get(ctx context.Context, key string) ([]byte, string, error) {
	resp, err := o.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(o.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, "", fmt.Errorf("get %s: %w", key, mapErr(err))
	}
	// Read to the end before closing: a failed read is the error that counts.
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", key, err)
	}
	return data, aws.ToString(resp.ETag), nil
}

func (o *ObjectStore) Put(ctx context.Context, key string, data []byte, cond coord.PutCondition) (string, error) {
	in := &s3.PutObjectInput{Bucket: aws.String(o.bucket), Key: aws.String(key),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))), ContentMD5: aws.String(contentMD5(data))}
	if cond.IfNoneMatch {
		in.IfNoneMatch = aws.String("*")
	}
	if cond.IfMatch != "" {
		in.IfMatch = aws.String(cond.IfMatch)
	}
	resp, err := o.client.PutObject(ctx, in)
	if err != nil {
		return "", fmt.Errorf("put %s: %w", key, mapErr(err))
	}
	return aws.ToString(resp.ETag), nil
}

// contentMD5 is the Content-MD5 header of an upload. AWS refuses an
// upload into a bucket whose Object Lock has a default retention without
// it (or a flexible checksum, which the SDK sends as a trailer over HTTPS,
// and not every S3-compatible store reads trailers); every store knows
// Content-MD5. The objects ClickVault writes are small.
func contentMD5(data []byte) string {
	sum := md5.Sum(data) //nolint:gosec // S3's integrity header, not a security use
	return base64.StdEncoding.EncodeToString(sum[:])
}

func (o *ObjectStore) ETag(ctx context.Context, key string) (string, error) {
	resp, err := o.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(o.bucket), Key: aws.String(key)})
	if err = mapErr(err); err != nil {
		return "", fmt.Errorf("look up %s: %w", key, err)
	}
	return aws.ToString(resp.ETag), nil
}

// Exists is a HEAD, as ETag: a missing key is no error here.
func (o *ObjectStore) Exists(ctx context.Context, key string) (bool, error) {
	_, err := o.ETag(ctx, key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, coord.ErrNotFound):
		return false, nil
	}
	return false, err
}

// deleteBatch is S3's limit of keys per DeleteObjects request.
const deleteBatch = 1000

func (o *ObjectStore) Delete(ctx context.Context, keys []string) error {
	for start := 0; start < len(keys); start += deleteBatch {
		batch := keys[start:min(start+deleteBatch, len(keys))]
		ids := make([]types.ObjectIdentifier, len(batch))
		for i, k := range batch {
			ids[i] = types.ObjectIdentifier{Key: aws.String(k)}
		}
		resp, err := o.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(o.bucket),
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return fmt.Errorf("delete %d objects from %s: %w", len(batch), batch[0], mapErr(err))
		}
		if len(resp.Errors) > 0 {
			e := resp.Errors[0]
			return fmt.Errorf("delete %s: %s: %s (and %d more failed)", aws.ToString(e.Key),
				aws.ToString(e.Code), aws.ToString(e.Message), len(resp.Errors)-1)
		}
	}
	return nil
}

// mapErr turns S3's answers into the port's sentinels.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) {
		switch respErr.HTTPStatusCode() {
		case http.StatusNotFound:
			return fmt.Errorf("%w: %w", coord.ErrNotFound, err)
		case http.StatusPreconditionFailed, http.StatusConflict:
			return fmt.Errorf("%w: %w", coord.ErrPreconditionFailed, err)
		}
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return fmt.Errorf("%w: %w", coord.ErrNotFound, err)
		case "PreconditionFailed", "ConditionalRequestConflict":
			return fmt.Errorf("%w: %w", coord.ErrPreconditionFailed, err)
		}
	}
	return err
}
