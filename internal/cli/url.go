package cli

import (
	"path"
	"path/filepath"
	"strings"
)

// sosURL is sos://bucket/key-or-prefix.
type sosURL struct {
	Bucket string
	Key    string // may be "" (the bucket) or end with "/" (a prefix)
}

func (u sosURL) String() string {
	if u.Key == "" {
		return "sos://" + u.Bucket
	}
	return "sos://" + u.Bucket + "/" + u.Key
}

// parseSOSURL parses sos://bucket[/key]. With bareBucket, a plain name
// (as in `storage create my-bucket`) is accepted as a bucket.
func parseSOSURL(s string, bareBucket bool) (sosURL, error) {
	rest, ok := strings.CutPrefix(s, "sos://")
	if !ok {
		if bareBucket && !strings.Contains(s, "/") && !strings.Contains(s, ":") {
			rest = s
		} else {
			return sosURL{}, usagef("%q is not a sos:// URL (sos://bucket/key)", s)
		}
	}
	bucket, key, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return sosURL{}, usagef("%q names no bucket (sos://bucket/key)", s)
	}
	if err := checkBucketName(bucket); err != nil {
		return sosURL{}, err
	}
	return sosURL{Bucket: bucket, Key: key}, nil
}

func isSOSURL(s string) bool { return strings.HasPrefix(s, "sos://") }

// uploadItem is one local file and the key it goes to.
type uploadItem struct {
	Local string
	Key   string
	Size  int64
}

// localFile is a regular file found under a directory being uploaded.
type localFile struct {
	Rel  string // slash-separated path under the walked directory
	Size int64
}

// localFS is the part of the file system that planning reads (the real
// one in the CLI: os.Stat and filepath.WalkDir).
type localFS interface {
	// Stat returns whether path is a directory and its size.
	Stat(path string) (isDir bool, size int64, err error)
	// Walk lists the regular files under dir, recursively.
	Walk(dir string) ([]localFile, error)
}

// planUpload maps local sources to keys under dst with exo's rule:
//   - a directory source needs recursive; "dir/" (or ".") uploads the
//     directory's contents under the prefix, "dir" uploads the folder
//     itself (keys start with "dir/");
//   - a file goes to dst's key when there is one source, dst names a key
//     (not ending with "/") and is not the bucket; otherwise to
//     prefix + its base name.
func planUpload(fsys localFS, sources []string, dst sosURL, recursive bool) ([]uploadItem, error) {
	prefix := dst.Key
	asPrefix := len(sources) > 1 || prefix == "" || strings.HasSuffix(prefix, "/")
	var items []uploadItem
	for _, src := range sources {
		isDir, size, err := fsys.Stat(src)
		if err != nil {
			return nil, err
		}
		if !isDir {
			key := prefix
			if asPrefix {
				key = joinKey(prefix, filepath.Base(src))
			}
			items = append(items, uploadItem{Local: src, Key: key, Size: size})
			continue
		}
		if !recursive {
			return nil, usagef("%s is a directory: use -r to upload it", src)
		}
		base := prefix
		if !strings.HasSuffix(base, "/") && base != "" {
			base += "/"
		}
		clean := filepath.Clean(src)
		contents := strings.HasSuffix(src, "/") || strings.HasSuffix(src, string(filepath.Separator)) || clean == "." || clean == ".."
		if !contents {
			base = joinKey(base, filepath.Base(clean)) + "/"
		}
		files, err := fsys.Walk(src)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			items = append(items, uploadItem{Local: filepath.Join(src, filepath.FromSlash(f.Rel)), Key: base + f.Rel, Size: f.Size})
		}
	}
	seen := map[string]string{}
	for _, it := range items {
		if it.Key == "" {
			return nil, usagef("%s: no object key (name one: sos://bucket/key)", it.Local)
		}
		if other, dup := seen[it.Key]; dup {
			return nil, usagef("%s and %s would both be uploaded as %s", other, it.Local, it.Key)
		}
		seen[it.Key] = it.Local
	}
	return items, nil
}

func joinKey(prefix, name string) string {
	if prefix == "" {
		return name
	}
	if strings.HasSuffix(prefix, "/") {
		return prefix + name
	}
	return prefix + "/" + name
}

// safeRelPath turns a key (relative to a listed prefix) into a local
// relative path, refusing keys that would leave the destination folder
// ("..", absolute) or that are not clean ("a//b", "./a").
func safeRelPath(rel string) (string, bool) {
	clean := path.Clean("/" + rel)[1:]
	if clean == "" || clean != strings.TrimSuffix(rel, "/") && clean != rel {
		return "", false
	}
	for _, part := range strings.Split(clean, "/") {
		if part == ".." || part == "." {
			return "", false
		}
	}
	return filepath.FromSlash(clean), true
}
