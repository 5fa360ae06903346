package netsim

import "math/rand/v2"

// deriveSource returns the PCG source for the n-th stream named name under
// seed. The two PCG words come from SplitMix64 over a mix of the seed and
// an FNV-1a hash of the name, so streams for different names (or seeds)
// are unrelated, and a stream depends on nothing but (seed, name, n).
func deriveSource(seed uint64, name string, n int) *rand.PCG {
	h := uint64(14695981039346656037) // FNV-1a offset basis
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	x := seed ^ splitmix64(h) ^ splitmix64(uint64(n)+0x632be59bd9b4e019)
	return rand.NewPCG(splitmix64(x), splitmix64(x+0x9e3779b97f4a7c15))
}

// splitmix64 is the finaliser of Steele, Lea and Flood's SplitMix64: a
// bijective mix in which every input bit affects every output bit.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
