package archive

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// BenchmarkSectionLevels compresses sections of three kinds of objects at the level sections use
// and at zstd's default level, side by side: the ratio metric is the compressed size over the raw.
func BenchmarkSectionLevels(b *testing.B) {
	kinds := []struct {
		name    string
		section []byte
	}{
		{"configmaps-hex", levelSection(60, func(i int, r *rand.Rand) string {
			return fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-%d","namespace":"bench-0001","uid":"%s","resourceVersion":"%d","labels":{"app":"bench"}},"data":{"value":"%s"}}`,
				i, randomHex(r, 32), 1000+i, randomHex(r, 300+r.IntN(4000)))
		})},
		{"secrets-base64", levelSection(60, func(i int, r *rand.Rand) string {
			return fmt.Sprintf(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s-%d","namespace":"bench-0001","uid":"%s","resourceVersion":"%d"},"data":{"tls.key":"%s"},"type":"Opaque"}`,
				i, randomHex(r, 32), 1000+i, base64.StdEncoding.EncodeToString([]byte(randomHex(r, 300+r.IntN(4000)))))
		})},
		{"deployments", levelSection(200, func(i int, r *rand.Rand) string {
			return fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web-%d","namespace":"shop","uid":"%s","resourceVersion":"%d","generation":3,"labels":{"app.kubernetes.io/name":"web-%d","app.kubernetes.io/part-of":"shop"},"managedFields":[{"manager":"kubectl","operation":"Update","apiVersion":"apps/v1","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{}}}}}}}}]},"spec":{"replicas":%d,"selector":{"matchLabels":{"app":"web-%d"}},"template":{"metadata":{"labels":{"app":"web-%d"}},"spec":{"containers":[{"name":"web","image":"registry.example.com/shop/web:1.%d.%d","ports":[{"containerPort":8080,"protocol":"TCP"}],"env":[{"name":"DB_HOST","value":"db-%d.shop.svc"}],"resources":{"requests":{"cpu":"%dm","memory":"%dMi"}},"imagePullPolicy":"IfNotPresent"}],"restartPolicy":"Always","dnsPolicy":"ClusterFirst"}}},"status":{"observedGeneration":3,"replicas":2}}`,
				i, randomHex(r, 32), 100000+r.IntN(1e6), i, 1+r.IntN(5), i, i, r.IntN(9), r.IntN(20), r.IntN(50), 100+50*r.IntN(4), 128<<r.IntN(3))
		})},
	}
	for _, k := range kinds {
		for _, level := range []zstd.EncoderLevel{sectionLevel, zstd.SpeedDefault} {
			b.Run(k.name+"/"+level.String(), func(b *testing.B) {
				enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithWindowSize(sectionTargetBytes))
				if err != nil {
					b.Fatal(err)
				}
				var out []byte
				b.SetBytes(int64(len(k.section)))
				for b.Loop() {
					out = enc.EncodeAll(k.section, out[:0])
				}
				b.ReportMetric(float64(len(out))/float64(len(k.section)), "ratio")
			})
		}
	}
}

func levelSection(items int, item func(i int, r *rand.Rand) string) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	var sb strings.Builder
	for i := range items {
		sb.WriteString(item(i, r))
		sb.WriteByte('\n')
	}
	return []byte(sb.String())
}

func randomHex(r *rand.Rand, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[r.IntN(16)]
	}
	return string(b)
}
