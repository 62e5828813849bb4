package cli

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"
)

// osFS is the local file system for planning uploads.
type osFS struct{}

func (osFS) Stat(p string) (bool, int64, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return false, 0, err
	}
	return fi.IsDir(), fi.Size(), nil
}

func (osFS) Walk(dir string) ([]localFile, error) {
	var out []localFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out = append(out, localFile{Rel: filepath.ToSlash(rel), Size: fi.Size()})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Rel < out[j].Rel })
	return out, err
}

// transferResult is one file moved (JSON output of upload and download).
type transferResult struct {
	Local string `json:"local"`
	URL   string `json:"url"`
	Size  int64  `json:"size"`
	Error string `json:"error,omitempty"`
}

// transfersView lists what moved; people see the progress bars instead, so
// the human form is used only for failures.
func transfersView(rs []transferResult) list {
	l := list{JSON: rs}
	if rs == nil {
		l.JSON = []transferResult{}
	}
	for _, r := range rs {
		status := "ok"
		if r.Error != "" {
			status = "failed: " + r.Error
		}
		l.Rows = append(l.Rows, []string{r.Local, r.URL, fmt.Sprint(r.Size), status})
	}
	return l
}

// partSize is the multipart part size for uploads; files up to it go in
// one PutObject.
const partSize = 16 << 20

func (a *app) progressOn() bool { return isTerminal(a.io.Stderr) }

func (a *app) storageUploadCommand() *cobra.Command {
	var recursive bool
	var contentType string
	c := &cobra.Command{
		Use:   "upload [-r] FILE|DIR... sos://BUCKET[/PREFIX]",
		Short: "upload files (\"dir/\" uploads its contents, \"dir\" the folder itself)",
		Args:  nargs(2, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			dst, err := parseSOSURL(args[len(args)-1], false)
			if err != nil {
				return err
			}
			items, err := planUpload(osFS{}, args[:len(args)-1], dst, recursive)
			if err != nil {
				return err
			}
			b, err := a.bucket(ctx, dst.Bucket)
			if err != nil {
				return err
			}
			cl, err := a.s3For(b.Zone)
			if err != nil {
				return err
			}
			up := manager.NewUploader(cl, func(u *manager.Uploader) {
				u.PartSize = partSize
				u.Concurrency = 4
			})
			var total int64
			for _, it := range items {
				total += it.Size
			}
			names, sizes := make([]string, len(items)), make([]int64, len(items))
			for i, it := range items {
				names[i], sizes[i] = it.Key, it.Size
			}
			pg := newProgress(progressOptions{On: a.progressOn(), W: a.io.Stderr, Files: len(items), Bytes: total, Names: names, Sizes: sizes})
			results := make([]transferResult, len(items))
			err = a.parallelEach(ctx, len(items), func(ctx context.Context, i int) error {
				it := items[i]
				fp := pg.file(it.Key, it.Size)
				err := uploadFile(withCounter(ctx, fp), up, b, it, contentType)
				fp.finish(it.Key, err)
				results[i] = transferResult{Local: it.Local, URL: "sos://" + b.Name + "/" + it.Key, Size: it.Size}
				if err != nil {
					results[i].Error = err.Error()
				}
				return err
			})
			pg.close()
			if a.out != formatTable {
				if jerr := a.show(transfersView(results)); jerr != nil {
					return jerr
				}
			}
			return err
		},
	}
	c.Flags().BoolVarP(&recursive, "recursive", "r", false, "upload directories")
	c.Flags().StringVar(&contentType, "content-type", "", "Content-Type (default: from the file name)")
	return c
}

func uploadFile(ctx context.Context, up *manager.Uploader, b bucketRef, it uploadItem, contentType string) error {
	f, err := os.Open(it.Local)
	if err != nil {
		return err
	}
	defer f.Close()
	if contentType == "" {
		contentType = mime.TypeByExtension(path.Ext(it.Key))
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	_, err = up.Upload(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(b.Name),
		Key:         aws.String(it.Key),
		Body:        f,
		ContentType: aws.String(contentType),
	})
	if err != nil {
		return fmt.Errorf("%s: %w", it.Local, s3Error(err, b, it.Key))
	}
	return nil
}

// downloadItem is one object and the local file it goes to.
type downloadItem struct {
	Key   string
	Local string
	Size  int64
}

// planDownload maps objects to local paths. For one object, dest is the
// file, or the folder receiving it under its base name (an existing folder
// or a path ending with "/"). Recursively, "sos://b/dir/" downloads the
// contents of dir into dest, "sos://b/dir" the folder dir itself.
func planDownload(src sosURL, objects []listEntry, dest string, destIsDir, recursive bool) ([]downloadItem, error) {
	if !recursive {
		if len(objects) != 1 {
			return nil, fmt.Errorf("%s: expected one object", src)
		}
		local := dest
		if destIsDir || strings.HasSuffix(dest, "/") || strings.HasSuffix(dest, string(filepath.Separator)) {
			local = filepath.Join(dest, path.Base(src.Key))
		}
		return []downloadItem{{Key: objects[0].Key, Local: local, Size: objects[0].Size}}, nil
	}
	base := src.Key
	if base != "" && !strings.HasSuffix(base, "/") {
		// "sos://b/dir": keep the folder's name.
		base = base[:strings.LastIndex(base, "/")+1]
	}
	var out []downloadItem
	for _, o := range objects {
		if strings.HasSuffix(o.Key, "/") {
			continue // folder markers
		}
		rel, ok := safeRelPath(strings.TrimPrefix(o.Key, base))
		if !ok {
			return nil, fmt.Errorf("object key %q cannot be a local file name: download it alone with another name", o.Key)
		}
		out = append(out, downloadItem{Key: o.Key, Local: filepath.Join(dest, rel), Size: o.Size})
	}
	return out, nil
}

func (a *app) storageDownloadCommand() *cobra.Command {
	var recursive, force bool
	c := &cobra.Command{
		Use:   "download [-r] sos://BUCKET/KEY [DEST]",
		Short: "download objects (streamed to a temporary file, then renamed)",
		Args:  nargs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			src, err := parseSOSURL(args[0], false)
			if err != nil {
				return err
			}
			if src.Key == "" && !recursive {
				return usagef("%s names a bucket: use -r to download everything in it", args[0])
			}
			dest := "."
			if len(args) == 2 {
				dest = args[1]
			}
			fi, statErr := os.Stat(dest)
			destIsDir := statErr == nil && fi.IsDir()
			b, err := a.bucket(ctx, src.Bucket)
			if err != nil {
				return err
			}
			cl, err := a.s3For(b.Zone)
			if err != nil {
				return err
			}
			var objects []listEntry
			var fetched *s3.GetObjectOutput
			if recursive {
				prefix := src.Key
				objects, err = listObjects(ctx, cl, b, prefix, false)
				if err != nil {
					return err
				}
				if prefix != "" && !strings.HasSuffix(prefix, "/") {
					var in []listEntry
					for _, o := range objects {
						if strings.HasPrefix(o.Key, prefix+"/") {
							in = append(in, o)
						}
					}
					objects = in
				}
				if len(objects) == 0 {
					return fmt.Errorf("no objects under %s", src)
				}
			} else {
				// GET at once (no HEAD first: a role may allow get-object
				// only); the body is read below.
				res, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.Name), Key: aws.String(src.Key)})
				if err != nil {
					return s3Error(err, b, src.Key)
				}
				defer res.Body.Close()
				fetched = res
				objects = []listEntry{{Key: src.Key, Size: aws.ToInt64(res.ContentLength)}}
			}
			items, err := planDownload(src, objects, dest, destIsDir, recursive)
			if err != nil {
				return err
			}
			if !force {
				for _, it := range items {
					if _, err := os.Stat(it.Local); err == nil && !(len(items) == 1 && !recursive && len(args) == 2 && !destIsDir) {
						return fmt.Errorf("%s already exists: use --force to overwrite it", it.Local)
					}
				}
			}
			var total int64
			for _, it := range items {
				total += it.Size
			}
			names, sizes := make([]string, len(items)), make([]int64, len(items))
			for i, it := range items {
				names[i], sizes[i] = path.Base(it.Key), it.Size
			}
			pg := newProgress(progressOptions{On: a.progressOn(), W: a.io.Stderr, Files: len(items), Bytes: total, Names: names, Sizes: sizes})
			results := make([]transferResult, len(items))
			var mkdirMu sync.Mutex
			err = a.parallelEach(ctx, len(items), func(ctx context.Context, i int) error {
				it := items[i]
				fp := pg.file(path.Base(it.Key), it.Size)
				mkdirMu.Lock()
				merr := os.MkdirAll(filepath.Dir(it.Local), 0o755)
				mkdirMu.Unlock()
				err := merr
				switch {
				case err != nil:
				case fetched != nil:
					err = writeAtomically(it.Local, fetched.Body, fp)
				default:
					err = downloadFile(ctx, cl, b, it, fp)
				}
				fp.finish(path.Base(it.Key), err)
				results[i] = transferResult{Local: it.Local, URL: "sos://" + b.Name + "/" + it.Key, Size: it.Size}
				if err != nil {
					results[i].Error = err.Error()
				}
				return err
			})
			pg.close()
			if a.out != formatTable {
				if jerr := a.show(transfersView(results)); jerr != nil {
					return jerr
				}
			}
			return err
		},
	}
	c.Flags().BoolVarP(&recursive, "recursive", "r", false, "download every object under the prefix")
	c.Flags().BoolVarP(&force, "force", "f", false, "overwrite existing local files")
	return c
}

// downloadFile streams an object into a temporary file next to the
// destination and renames it into place once complete.
func downloadFile(ctx context.Context, cl *s3.Client, b bucketRef, it downloadItem, c counter) error {
	res, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.Name), Key: aws.String(it.Key)})
	if err != nil {
		return s3Error(err, b, it.Key)
	}
	defer res.Body.Close()
	return writeAtomically(it.Local, res.Body, c)
}

// writeAtomically copies r into path through a temporary file in the same
// folder, counting bytes into c; path is replaced only when all went well.
func writeAtomically(dest string, r io.Reader, c counter) error {
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".sos-*.part")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(countingWriter{w: tmp, c: c}, r); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %v", dest, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	_ = os.Chmod(tmp.Name(), 0o644)
	return os.Rename(tmp.Name(), dest)
}
