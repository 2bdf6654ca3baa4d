# Per-class accuracy of a 15C5-P2-40C5-P2-300 checkpoint on the first 2,000 MNIST test images, by an
# independent numpy forward pass (eq 3-5). Run from the repository root:
#   python3 results/mnist-cnn-15C5-P2-40C5-P2-300-lr0.005-dead-class/per_class.py results/mnist-cnn-15C5-P2-40C5-P2-300-lr0.005-dead-class/checkpoint.safetensors
# (needs numpy and safetensors from PyPI).
import numpy as np, json, sys
from safetensors.numpy import load_file
from safetensors import safe_open
path=sys.argv[1]
w=load_file(path)
with safe_open(path,'np') as f: meta=f.metadata()
print(meta['net'])
X=np.fromfile('data/mnist/t10k-images-idx3-ubyte',dtype=np.uint8)[16:].reshape(-1,1,28,28)[:2000]
Y=np.fromfile('data/mnist/t10k-labels-idx1-ubyte',dtype=np.uint8)[8:][:2000]
x=((X/255.0-0.13066048)/0.3081078).astype(np.float32)
from numpy.lib.stride_tricks import sliding_window_view as swv
def conv(a,W):  # a [N,C,H,W], W [O,C,k,k], pad 0
    p=swv(a,(W.shape[2],W.shape[3]),axis=(2,3))  # N,C,Ho,Wo,k,k
    return np.einsum('nchwij,ocij->nohw',p,W,optimize=True)
def pool(a): N,C,H,W_=a.shape; return a.reshape(N,C,H//2,2,W_//2,2).mean((3,5))
def lif(curs,T=2):
    u=0; out=[]
    for t in range(T):
        v=0.9*u+curs[t]; s=np.clip(np.floor(v/10),0,15); u=v-10*s; out.append((s,v))
    return out
c1=conv(x,w['layer0.weight']); L1=lif([c1,c1])
p1=[pool(s) for s,_ in L1]
L2=lif([conv(p,w['layer1.weight']) for p in p1])
p2=[pool(s).reshape(len(x),-1) for s,_ in L2]
L3=lif([p@w['layer2.weight'].T for p in p2])
L4=lif([s@w['layer3.weight'].T for s,_ in L3])
tot=sum(s for s,_ in L4); pred=tot.argmax(1)
print('acc',(pred==Y).mean())
for c in range(10):
    m=Y==c; print(c, 'acc %.3f'%(pred[m]==c).mean(), 'mean out spikes of own class %.2f'%tot[m,c].mean(), 'max v %.1f'%max(v[m,c].max() for _,v in L4))
