// A component that skips rendering when its props are shallowly equal: what React's
// memo does, without pulling in preact/compat for one function. For rows of long
// lists, where most of them do not change between two renders of the list.

import { Component, type FunctionComponent, type VNode } from 'preact';

function shallowEqual(a: object, b: object): boolean {
  const ka = Object.keys(a) as (keyof typeof a)[];
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

export function pure<P extends object>(render: FunctionComponent<P>): FunctionComponent<P> {
  class Pure extends Component<P> {
    override shouldComponentUpdate(next: P): boolean {
      return !shallowEqual(this.props, next);
    }
    override render(props: P): VNode | null {
      return render(props) as VNode | null;
    }
  }
  return Pure as unknown as FunctionComponent<P>;
}
