"""Regenerates the expected values of tests/data/cnn2-numpy.json: the forward pass (eq 3-5) and the
paper-mode gradients (eq 9-13) of a two-convolution network, written out in numpy with no code shared
with the engine. Run from the repository root: python3 tests/data/cnn2_numpy.py (needs numpy)."""
import json, numpy as np
from numpy.lib.stride_tricks import sliding_window_view as swv
d=json.load(open('tests/data/cnn2-numpy.json'))
T=3; B=4; lam=0.9; vth=10.0; smax=15; aW=20.0; target=5.0
W1=np.array(d['weights'][0],dtype=np.float64).reshape(4,1,3,3)
W2=np.array(d['weights'][1],dtype=np.float64).reshape(6,4,3,3)
W3=np.array(d['weights'][2],dtype=np.float64).reshape(10,24)
x=np.array(d['x'],dtype=np.float64).reshape(B,1,10,10)
lab=np.array(d['labels'])
def f2(v):
    i=np.arange(1,smax+1).reshape((-1,)+(1,)*v.ndim); return np.exp(-(v-i*vth)**2/aW).sum(0)
def conv(a,W,p=1):
    a=np.pad(a,((0,0),(0,0),(p,p),(p,p))); return np.einsum('nchwij,ocij->nohw',swv(a,(3,3),axis=(2,3)),W,optimize=True)
def conv_wgrad(a,g,p=1):  # a [N,C,H,W] input, g [N,O,H',W']
    a=np.pad(a,((0,0),(0,0),(p,p),(p,p))); return np.einsum('nchwij,nohw->ocij',swv(a,(3,3),axis=(2,3)),g,optimize=True)
def conv_igrad(g,W,p=1):  # full correlation with flipped kernel
    k=3; q=k-1-p; gp=np.pad(g,((0,0),(0,0),(q,q),(q,q))); Wf=W[:,:,::-1,::-1]
    return np.einsum('nohwij,ocij->nchw',swv(gp,(3,3),axis=(2,3)),Wf,optimize=True)
def pool(a): N,C,H,W_=a.shape; return a[:,:,:H//2*2,:W_//2*2].reshape(N,C,H//2,2,W_//2,2).mean((3,5))
def unpool(g,H,W_):
    N,C,h,w=g.shape; out=np.zeros((N,C,H,W_)); out[:,:,:h*2,:w*2]=np.repeat(np.repeat(g,2,2),2,3)/4; return out
def lif(curs):
    u=0; V=[];S=[]
    for t in range(T):
        v=lam*u+curs[t]; s=np.clip(np.floor(v/vth),0,smax); u=v-vth*s; V.append(v); S.append(s)
    return V,S
V1,S1=lif([conv(x,W1)]*T); P1=[pool(s) for s in S1]
V2,S2=lif([conv(p,W2) for p in P1]); P2=[pool(s).reshape(B,-1) for s in S2]
V3,S3=lif([p@W3.T for p in P2])
y=np.zeros((B,10)); y[np.arange(B),lab]=target
loss=sum(0.5*((y-s)**2).sum() for s in S3)/B
print('loss',loss,d['loss'])
for li,(S,ref) in enumerate(zip([S1,S2,S3],d['spikes'])):
    print('layer',li,'spikes equal', np.array_equal(np.array(S).ravel(), np.array(ref)), 'mean', np.mean(S))
def scan(up,V):
    G=[None]*T; D=[None]*T; nxt=0
    for t in reversed(range(T)):
        f=f2(V[t]); D[t]=up[t]*f; G[t]=(D[t]+lam*nxt)/(1+vth*f); nxt=G[t]
    return D,G
D3,G3=scan([(s-y)/B for s in S3],V3)
gW3=sum(G3[t].T@P2[t] for t in range(T))
up2=[unpool((D3[t]@W3).reshape(B,6,2,2),5,5) for t in range(T)]
D2,G2=scan(up2,V2)
gW2=sum(conv_wgrad(P1[t],G2[t]) for t in range(T))
up1=[unpool(conv_igrad(D2[t],W2),10,10) for t in range(T)]
D1,G1=scan(up1,V1)
gW1=conv_wgrad(x,sum(G1))
for li,(g,ref) in enumerate(zip([gW1,gW2,gW3],d['grads'])):
    ref=np.array(ref).reshape(g.shape); print('grad',li,'max|ref|',np.abs(ref).max(),'max err',np.abs(g-ref).max())
out={'about':'Paper-mode gradients (eq 9-13) of 4C3-P2-6C3-P2-10 on 1x10x10 inputs, T=3, Table I otherwise, computed by tests/data/cnn2_numpy.py in float64 with numpy (independent of the engine). Weights/x/labels were drawn by the engine; layouts as in reference-v1.json.',
 'net':'4C3-P2-6C3-P2-10','input':[1,10,10],'steps':T,'weights':d['weights'],'x':d['x'],'labels':d['labels'],'loss':loss,
 'spikes':[np.array(S).ravel().tolist() for S in (S1,S2,S3)],'grads':[g.ravel().tolist() for g in (gW1,gW2,gW3)]}
json.dump(out,open('tests/data/cnn2-numpy.json','w'))
