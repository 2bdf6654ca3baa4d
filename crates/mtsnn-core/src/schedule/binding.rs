//! The buffer contract between a [`Step`] and the executors: each buffer a kernel
//! binds, under the name of the step's field that holds it, with the values the kernel uses of
//! it. Both executors take a step's buffers by name from
//! [`Step::bindings`] and check their sizes in one place,
//! [`Bindings::take`]; the kernels and launchers then trust them.

use std::fmt;

use super::{Buf, Step};
use crate::error::{Error, Result};

impl Step {
    /// The buffers of the step, each under the name of the field that holds it, with the values
    /// the kernel uses of it. Fails with [`Error::Shape`] for a convolution or pooling window that
    /// does not fit its maps.
    pub fn bindings(&self) -> Result<Bindings> {
        let list = self.sized()?;
        Ok(Bindings {
            step: self.kernel(),
            list: list
                .into_iter()
                .map(|(role, buf, len)| Binding { role, buf, len })
                .collect(),
        })
    }

    /// Each buffer of the step with its role and the values its kernel uses.
    fn sized(&self) -> Result<Vec<(Role, Buf, usize)>> {
        use Role::*;
        Ok(match *self {
            Step::Matmul {
                a, b, c, m, n, k, ..
            } => vec![(A, a, m * k), (B, b, k * n), (C, c, m * n)],
            Step::LifForward {
                current,
                constant,
                steps,
                m,
                v,
                s,
                ..
            } => vec![
                (Current, current, if constant { m } else { steps * m }),
                (V, v, steps * m),
                (S, s, steps * m),
            ],
            Step::OutputError {
                s,
                labels,
                steps,
                batch,
                classes,
                upstream,
                loss,
                ..
            } => {
                let n = steps * batch * classes;
                vec![
                    (S, s, n),
                    (Labels, labels, batch),
                    (Upstream, upstream, n),
                    (Loss, loss, batch),
                ]
            }
            Step::SurrogateGScan {
                upstream,
                v,
                steps,
                m,
                delta,
                g,
                ..
            } => [(Upstream, upstream), (V, v), (Delta, delta), (G, g)]
                .map(|(r, b)| (r, b, steps * m))
                .to_vec(),
            Step::SumSteps { x, steps, m, out } => vec![(X, x, steps * m), (Out, out, m)],
            Step::Adam { w, grad, m, v, len } => [(W, w), (Grad, grad), (M, m), (V, v)]
                .map(|(r, b)| (r, b, len))
                .to_vec(),
            Step::ConvForward {
                input,
                w,
                out,
                images,
                geom,
            } => {
                geom.check()?;
                vec![
                    (Input, input, images * geom.in_len()),
                    (W, w, geom.weight_len()),
                    (Out, out, images * geom.out_len()),
                ]
            }
            Step::ConvInputGrad {
                grad_out,
                w,
                grad_in,
                images,
                geom,
            } => {
                geom.check()?;
                vec![
                    (GradOut, grad_out, images * geom.out_len()),
                    (W, w, geom.weight_len()),
                    (GradIn, grad_in, images * geom.in_len()),
                ]
            }
            Step::ConvWeightGrad {
                input,
                grad_out,
                grad_w,
                images,
                geom,
            } => {
                geom.check()?;
                vec![
                    (Input, input, images * geom.in_len()),
                    (GradOut, grad_out, images * geom.out_len()),
                    (GradW, grad_w, geom.weight_len()),
                ]
            }
            Step::AvgPoolForward { input, out, pool }
            | Step::MaxPoolForward { input, out, pool } => {
                pool.check()?;
                vec![(Input, input, pool.in_len()), (Out, out, pool.out_len())]
            }
            Step::AvgPoolBackward {
                grad_out,
                grad_in,
                pool,
            } => {
                pool.check()?;
                vec![
                    (GradOut, grad_out, pool.out_len()),
                    (GradIn, grad_in, pool.in_len()),
                ]
            }
            Step::MaxPoolBackward {
                input,
                grad_out,
                grad_in,
                pool,
            } => {
                pool.check()?;
                vec![
                    (Input, input, pool.in_len()),
                    (GradOut, grad_out, pool.out_len()),
                    (GradIn, grad_in, pool.in_len()),
                ]
            }
        })
    }
}

/// What a buffer is to the kernel that binds it: the name of the [`Step`] field
/// holding it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // Each is the field of the same name; `Step` documents them.
pub enum Role {
    A,
    B,
    C,
    Current,
    V,
    S,
    Labels,
    Upstream,
    Loss,
    Delta,
    G,
    X,
    Out,
    W,
    Grad,
    M,
    Input,
    GradOut,
    GradIn,
    GradW,
}

impl Role {
    /// The field's name.
    pub fn name(self) -> &'static str {
        match self {
            Role::A => "a",
            Role::B => "b",
            Role::C => "c",
            Role::Current => "current",
            Role::V => "v",
            Role::S => "s",
            Role::Labels => "labels",
            Role::Upstream => "upstream",
            Role::Loss => "loss",
            Role::Delta => "delta",
            Role::G => "g",
            Role::X => "x",
            Role::Out => "out",
            Role::W => "w",
            Role::Grad => "grad",
            Role::M => "m",
            Role::Input => "input",
            Role::GradOut => "grad_out",
            Role::GradIn => "grad_in",
            Role::GradW => "grad_w",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One buffer of a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding {
    /// Which of the step's buffers it is.
    pub role: Role,
    /// The schedule's buffer.
    pub buf: Buf,
    /// Values the kernel uses, from the start of the buffer.
    pub len: usize,
}

/// The buffers of one step ([`Step::bindings`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bindings {
    /// The step's kernel, for messages.
    pub(super) step: &'static str,
    pub(super) list: Vec<Binding>,
}

impl Bindings {
    /// Every buffer, in the order of the step's fields.
    pub fn iter(&self) -> impl Iterator<Item = &Binding> {
        self.list.iter()
    }

    /// The bindings of `roles`, in that order, after checking that each buffer exists and holds
    /// what the kernel uses: `held(buf)` is its number of values, `None` for no such buffer.
    /// The one size check of both executors; fails with [`Error::Shape`].
    pub fn take<const N: usize>(
        &self,
        roles: [Role; N],
        held: impl Fn(Buf) -> Option<usize>,
    ) -> Result<[Binding; N]> {
        let mut out = [Binding {
            role: Role::A,
            buf: Buf(0),
            len: 0,
        }; N];
        for (slot, role) in out.iter_mut().zip(roles) {
            let b =
                *self.list.iter().find(|b| b.role == role).ok_or_else(|| {
                    Error::Shape(format!("{} binds no buffer `{role}`", self.step))
                })?;
            match held(b.buf) {
                Some(n) if n >= b.len => *slot = b,
                Some(n) => {
                    return Err(Error::Shape(format!(
                        "{} `{role}`: buffer {} holds {n} values where {} are needed",
                        self.step, b.buf.0, b.len
                    )));
                }
                None => {
                    return Err(Error::Shape(format!(
                        "{} `{role}`: no buffer {}",
                        self.step, b.buf.0
                    )));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_finds_by_name_and_checks_sizes() {
        let step = Step::SumSteps {
            x: Buf(3),
            steps: 2,
            m: 5,
            out: Buf(1),
        };
        let b = step.bindings().unwrap();
        let held = |lens: [usize; 4]| move |buf: Buf| lens.get(buf.0).copied();
        let [out, x] = b.take([Role::Out, Role::X], held([0, 5, 0, 10])).unwrap();
        assert_eq!((out.buf, out.len, x.buf, x.len), (Buf(1), 5, Buf(3), 10));
        assert!(matches!(
            b.take([Role::X], held([0, 5, 0, 9])),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            b.take([Role::W], held([9; 4])),
            Err(Error::Shape(_))
        ));
        assert!(matches!(b.take([Role::X], |_| None), Err(Error::Shape(_))));
    }
}
