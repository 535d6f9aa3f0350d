import { render } from 'preact';

render(<p>Kerbside</p>, document.getElementById('app') as HTMLElement);
